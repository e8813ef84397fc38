//! The JWT-bearer grant (RFC 7523) of a service-account key: an assertion
//! signed with the key's private key is exchanged at the key's `token_uri`
//! for an access token, through the proxy that applies like every other
//! connection. The key is read and checked by gcp_auth, whose signer signs
//! the assertion; the exchange is [`TokenEndpoint`]'s.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::cache::Fetched;
use super::oauth::TokenEndpoint;
use super::{GOOGLE_TOKEN_URI, SCOPES};
use crate::error::{Error, Result};
use crate::proto::rpc::Code;
use crate::proxy::Proxies;

/// The grant type of a signed assertion.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How long an assertion is valid; Google accepts at most an hour.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(3600);

/// A service-account key and the token endpoint it names.
pub(crate) struct ServiceAccountGrant {
    /// The key file, for messages.
    origin: PathBuf,
    email: String,
    /// `private_key_id`, sent as the assertion's `kid`.
    key_id: Option<String>,
    /// Holds the parsed private key; only its signer is used.
    key: Arc<gcp_auth::CustomServiceAccount>,
    pub(crate) endpoint: TokenEndpoint,
}

impl ServiceAccountGrant {
    /// The grant of the key file at `path`, whose JSON is `json`, reaching
    /// its token endpoint through `proxies`.
    pub(crate) fn load(path: &Path, json: &Value, proxies: Proxies) -> Result<Self> {
        let unusable = |what: &dyn std::fmt::Display| {
            Error::new(
                Code::Unauthenticated,
                format!(
                    "cannot use the service-account key {}: {what}",
                    path.display()
                ),
            )
        };
        let email = json["client_email"]
            .as_str()
            .filter(|email| !email.is_empty())
            .ok_or_else(|| unusable(&"it has no client_email"))?;
        let token_uri = json["token_uri"].as_str().unwrap_or(GOOGLE_TOKEN_URI);
        let key = gcp_auth::CustomServiceAccount::from_file(path).map_err(|e| unusable(&e))?;
        Ok(Self {
            origin: path.to_owned(),
            email: email.to_owned(),
            key_id: json["private_key_id"].as_str().map(str::to_owned),
            key: Arc::new(key),
            endpoint: TokenEndpoint::new(token_uri.to_owned(), proxies)?,
        })
    }

    /// The same key, reaching its token endpoint through `proxies`.
    pub(crate) fn with_proxies(&self, proxies: Proxies) -> Result<Self> {
        Ok(Self {
            origin: self.origin.clone(),
            email: self.email.clone(),
            key_id: self.key_id.clone(),
            key: Arc::clone(&self.key),
            endpoint: TokenEndpoint::new(self.endpoint.uri.clone(), proxies)?,
        })
    }

    /// The service account's email address.
    pub(crate) fn email(&self) -> &str {
        &self.email
    }

    fn failure(&self, what: &dyn std::fmt::Display) -> Error {
        Error::new(
            Code::Unauthenticated,
            format!(
                "service account {} (key {}): the token endpoint {} {what}",
                self.email,
                self.origin.display(),
                self.endpoint.uri
            ),
        )
    }

    /// A signed assertion for the scopes every token is asked for, issued
    /// `now`.
    fn assertion(&self, now: SystemTime) -> Result<String> {
        let issued = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = Value::from(kid.as_str());
        }
        let claims = json!({
            "iss": self.email,
            "aud": self.endpoint.uri,
            "scope": SCOPES.join(" "),
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME.as_secs(),
        });
        let mut jwt = URL_SAFE_NO_PAD.encode(header.to_string());
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut jwt);
        let signature = self.key.signer().sign(jwt.as_bytes()).map_err(|e| {
            Error::new(
                Code::Unauthenticated,
                format!(
                    "cannot sign with the service-account key {}: {e}",
                    self.origin.display()
                ),
            )
        })?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jwt);
        Ok(jwt)
    }

    /// Exchanges a new assertion for an access token.
    pub(crate) async fn fetch(&self) -> Result<Fetched> {
        let assertion = self.assertion(SystemTime::now())?;
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", JWT_BEARER)
            .append_pair("assertion", &assertion)
            .finish();
        self.endpoint
            .exchange(form, "the service account's assertion", &|what| {
                self.failure(what)
            })
            .await
    }
}
