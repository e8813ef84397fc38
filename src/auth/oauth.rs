//! The OAuth 2.0 refresh-token grant: how the Earth Engine credentials file
//! (and an `authorized_user` ADC file) turn into access tokens.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;

use super::SecretToken;
use super::cache::Fetched;
use crate::error::{Error, Result};
use crate::host::is_remote_plaintext;
use crate::http::{HttpClient, client};
use crate::proto::rpc::Code;
use crate::proxy::Proxies;

/// Google's OAuth token endpoint, the default.
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The most of a token endpoint's reply that is read.
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// A refresh token and the OAuth client it belongs to.
pub(crate) struct RefreshTokenGrant {
    /// The file the grant came from, for messages.
    pub(crate) origin: PathBuf,
    pub(crate) refresh_token: SecretToken,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretToken,
    pub(crate) token_uri: String,
    /// The proxy settings the exchange connects with.
    pub(crate) proxies: Proxies,
    http: OnceLock<HttpClient>,
}

impl RefreshTokenGrant {
    pub(crate) fn new(
        origin: PathBuf,
        refresh_token: SecretToken,
        client_id: String,
        client_secret: SecretToken,
        token_uri: String,
        proxies: Proxies,
    ) -> Result<Self> {
        check_token_uri(&token_uri)?;
        Ok(Self {
            origin,
            refresh_token,
            client_id,
            client_secret,
            token_uri,
            proxies,
            http: OnceLock::new(),
        })
    }

    fn failure(&self, what: impl std::fmt::Display) -> Error {
        Error::new(
            Code::Unauthenticated,
            format!(
                "credentials from {}: the token endpoint {} {what}",
                self.origin.display(),
                self.token_uri
            ),
        )
    }

    /// Exchanges the refresh token for an access token.
    pub(crate) async fn fetch(&self) -> Result<Fetched> {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", self.refresh_token.expose())
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", self.client_secret.expose())
            .finish();
        let request = http::Request::post(&self.token_uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .header("user-agent", super::USER_AGENT)
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| self.failure(format_args!("is not a usable URL: {e}")))?;
        let http = match self.http.get() {
            Some(http) => http,
            None => {
                let proxy = self.proxies.route(&self.token_uri).map_err(|e| {
                    self.failure(format_args!("cannot be reached: {}", e.message()))
                })?;
                self.http
                    .get_or_init(|| client(crate::http::is_https(&self.token_uri), proxy))
            }
        };
        let exchange = async {
            let response = http.request(request).await.map_err(|e| {
                self.failure(format_args!(
                    "cannot be reached: {}",
                    crate::http::innermost_cause(&e)
                ))
                .with_source(e)
            })?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_REPLY_BYTES)
                .collect()
                .await
                .map_err(|e| self.failure(format_args!("sent an unreadable reply: {e}")))?
                .to_bytes();
            Ok::<_, Error>((status, body))
        };
        // No limit of its own: the exchange runs inside the deadline of the
        // call that needs the token.
        let (status, body) = exchange.await?;
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        if !(200..300).contains(&status) {
            let reason = json
                .as_ref()
                .map(|json| {
                    let error = json["error"].as_str().unwrap_or("error");
                    match json["error_description"].as_str() {
                        Some(description) => format!("{error}: {description}"),
                        None => error.to_owned(),
                    }
                })
                .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
            return Err(self.failure(format_args!(
                "refused the refresh token: HTTP {status}: {reason}"
            )));
        }
        let json = json.ok_or_else(|| self.failure("answered with something other than JSON"))?;
        let token = json["access_token"]
            .as_str()
            .filter(|token| !token.is_empty())
            .ok_or_else(|| self.failure("answered without an access_token"))?;
        let lifetime = json["expires_in"].as_u64().map(Duration::from_secs);
        Ok(Fetched {
            token: SecretToken::new(token),
            lifetime,
        })
    }
}

/// Refresh tokens and client secrets go only over TLS, or to this machine.
pub(crate) fn check_token_uri(uri: &str) -> Result<()> {
    let parsed: http::Uri = uri.parse().map_err(|e| {
        Error::new(
            Code::InvalidArgument,
            format!("invalid token endpoint {uri:?}: {e}"),
        )
    })?;
    if !matches!(parsed.scheme_str(), Some("https" | "http")) || parsed.host().is_none() {
        return Err(Error::new(
            Code::InvalidArgument,
            format!("invalid token endpoint {uri:?}: use an https:// URL"),
        ));
    }
    if is_remote_plaintext(uri) {
        return Err(Error::new(
            Code::InvalidArgument,
            format!(
                "refusing to send a refresh token in plaintext to {uri}: use https:// (http:// is only for loopback)"
            ),
        ));
    }
    Ok(())
}
