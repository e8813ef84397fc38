//! Finding credentials in the documented order.

use std::path::PathBuf;

use super::{Credentials, read_json};
use crate::error::{Error, Result};
use crate::proto::rpc::Code;
use crate::proxy::Proxies;

/// Where to look for credentials, and in what order.
///
/// Unless a source is named, [`CredentialSearch::find`] tries:
///
/// 1. an access token given explicitly (`--access-token`, or the
///    `EEOPS_ACCESS_TOKEN` environment variable);
/// 2. Application Default Credentials: the key file named by
///    `GOOGLE_APPLICATION_CREDENTIALS` (a service-account key, or an
///    `authorized_user` file), then — through gcp_auth — the gcloud ADC file,
///    the metadata server and the gcloud CLI;
/// 3. the Earth Engine credentials file, `~/.config/earthengine/credentials`,
///    whose refresh token is exchanged at Google's token endpoint, or at
///    `EEOPS_TOKEN_URI` when that is set;
/// 4. nothing: an error listing what was tried (anonymous calls are asked
///    for with [`Credentials::anonymous`], `--no-auth` on the command line).
///
/// For endpoints on this machine (emulators) only the explicit sources are
/// looked at — 1, a key file named by the environment, and 3 — so the
/// metadata server and the gcloud CLI are never probed, and when nothing is
/// found the calls go out anonymous.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct CredentialSearch {
    access_token: Option<String>,
    key_file: Option<PathBuf>,
    earth_engine_file: Option<PathBuf>,
    token_uri: Option<String>,
    proxies: Option<Proxies>,
    explicit_only: bool,
}

impl CredentialSearch {
    /// A search with nothing configured: only the ambient sources of step 2
    /// (gcp_auth's gcloud file, metadata server, gcloud CLI) remain.
    pub fn new() -> Self {
        Self::default()
    }

    /// A search configured from the environment: `EEOPS_ACCESS_TOKEN`,
    /// `GOOGLE_APPLICATION_CREDENTIALS`, `HOME` (for the Earth Engine file)
    /// and `EEOPS_TOKEN_URI`.
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        };
        Self {
            access_token: var("EEOPS_ACCESS_TOKEN"),
            key_file: var("GOOGLE_APPLICATION_CREDENTIALS").map(PathBuf::from),
            earth_engine_file: var("HOME").map(|home| {
                PathBuf::from(home)
                    .join(".config")
                    .join("earthengine")
                    .join("credentials")
            }),
            token_uri: var("EEOPS_TOKEN_URI"),
            proxies: None,
            explicit_only: false,
        }
    }

    /// An explicit access token (step 1).
    pub fn with_access_token(mut self, token: Option<String>) -> Self {
        if token.is_some() {
            self.access_token = token;
        }
        self
    }

    /// The key file of step 2.
    pub fn with_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_file = Some(path.into());
        self
    }

    /// The Earth Engine credentials file of step 3.
    pub fn with_earth_engine_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.earth_engine_file = Some(path.into());
        self
    }

    /// The token endpoint for refresh tokens (https, or http to loopback).
    pub fn with_token_uri(mut self, uri: impl Into<String>) -> Self {
        self.token_uri = Some(uri.into());
        self
    }

    /// The proxies tokens are fetched through, for refresh tokens and
    /// service-account keys (see [`Credentials::with_proxies`]); a client
    /// sets its own.
    pub fn with_proxies(mut self, proxies: Proxies) -> Self {
        self.proxies = Some(proxies);
        self
    }

    /// Look only at explicit sources and fall back to anonymous (for
    /// endpoints on this machine).
    pub fn explicit_only(mut self, explicit_only: bool) -> Self {
        self.explicit_only = explicit_only;
        self
    }

    /// Runs the search.
    pub async fn find(&self) -> Result<Credentials> {
        if let Some(token) = &self.access_token {
            return Credentials::from_access_token(token);
        }
        let mut tried = Vec::new();
        if let Some(path) = &self.key_file {
            let json = read_json(path, "GOOGLE_APPLICATION_CREDENTIALS")?;
            let credentials = match json["type"].as_str() {
                Some("service_account") => Credentials::from_service_account_file(path)?,
                Some("authorized_user") => Credentials::from_authorized_user_file(path, &json)?,
                other => {
                    return Err(Error::new(
                        Code::Unauthenticated,
                        format!(
                            "GOOGLE_APPLICATION_CREDENTIALS names {} of type {other:?}; expected service_account or authorized_user",
                            path.display()
                        ),
                    ));
                }
            };
            return self.apply_token_uri(credentials);
        }
        tried.push("no GOOGLE_APPLICATION_CREDENTIALS".to_owned());
        if !self.explicit_only {
            match Credentials::application_default().await {
                Ok(credentials) => return Ok(credentials),
                Err(error) => tried.push(error.message().to_owned()),
            }
        }
        match &self.earth_engine_file {
            Some(path) if path.exists() => {
                return self.apply_token_uri(Credentials::from_earth_engine_file(path)?);
            }
            Some(path) => tried.push(format!("no Earth Engine credentials at {}", path.display())),
            None => tried.push("no HOME for the Earth Engine credentials file".to_owned()),
        }
        if self.explicit_only {
            return Ok(Credentials::anonymous());
        }
        Err(Error::new(
            Code::Unauthenticated,
            format!(
                "no credentials found ({}); run `earthengine authenticate` or `gcloud auth application-default login`, pass --access-token, or --no-auth for anonymous calls",
                tried.join("; ")
            ),
        ))
    }

    fn apply_token_uri(&self, credentials: Credentials) -> Result<Credentials> {
        let credentials = match &self.proxies {
            Some(proxies) => credentials.with_proxies(proxies.clone()),
            None => credentials,
        };
        match &self.token_uri {
            Some(uri) => credentials.with_token_uri(uri),
            None => Ok(credentials),
        }
    }
}
