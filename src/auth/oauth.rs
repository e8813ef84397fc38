//! OAuth 2.0 token endpoints, and the refresh-token grant: how the Earth
//! Engine credentials file (and an `authorized_user` ADC file) turn into
//! access tokens. Every exchange goes through the proxy that applies.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;

use super::SecretToken;
use super::cache::Fetched;
use crate::error::{Error, Result, innermost_cause};
use crate::host::is_remote_plaintext;
use crate::http::{HttpClient, client};
use crate::proto::rpc::Code;
use crate::proxy::Proxies;

/// Google's OAuth token endpoint, the default.
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The most of a token endpoint's reply that is read.
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// A token endpoint and the way to it: the proxy route is worked out, and
/// the HTTP client made, on the first exchange.
pub(crate) struct TokenEndpoint {
    pub(crate) uri: String,
    /// The proxy settings exchanges connect with.
    pub(crate) proxies: Proxies,
    http: OnceLock<HttpClient>,
}

impl TokenEndpoint {
    /// An endpoint at `uri`, which [`check_token_uri`] must accept.
    pub(crate) fn new(uri: String, proxies: Proxies) -> Result<Self> {
        check_token_uri(&uri)?;
        Ok(Self {
            uri,
            proxies,
            http: OnceLock::new(),
        })
    }

    /// Posts `form` (a grant) and reads the access token from the reply.
    /// `failure` words an error about this endpoint for the credentials'
    /// owner (it is given what the endpoint did); `grant` names what a
    /// refusal refused.
    ///
    /// No limit of its own: the exchange runs inside the deadline of the
    /// call that needs the token.
    pub(crate) async fn exchange(
        &self,
        form: String,
        grant: &str,
        failure: &(dyn Fn(&dyn std::fmt::Display) -> Error + Sync),
    ) -> Result<Fetched> {
        let request = http::Request::post(&self.uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .header("user-agent", crate::user_agent::USER_AGENT)
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| failure(&format_args!("is not a usable URL: {e}")))?;
        let http = match self.http.get() {
            Some(http) => http,
            None => {
                let proxy = self
                    .proxies
                    .route(&self.uri)
                    .map_err(|e| failure(&format_args!("cannot be reached: {}", e.message())))?;
                self.http.get_or_init(|| {
                    client(
                        crate::http::is_https(&self.uri),
                        &crate::http::Tls::system(),
                        proxy,
                        true,
                        crate::http::KeepAlive::default(),
                    )
                })
            }
        };
        // The innermost cause (a refused connection, a proxy's refusal) says
        // it all; the layers around it would only add lines.
        let response = http
            .request(request, None)
            .await
            .map_err(|e| failure(&format_args!("cannot be reached: {}", innermost_cause(&e))))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_REPLY_BYTES)
            .collect()
            .await
            .map_err(|e| failure(&format_args!("sent an unreadable reply: {e}")))?
            .to_bytes();
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
            return Err(failure(&format_args!(
                "refused {grant}: HTTP {status}: {reason}"
            )));
        }
        let json = json.ok_or_else(|| failure(&"answered with something other than JSON"))?;
        let token = json["access_token"]
            .as_str()
            .filter(|token| !token.is_empty())
            .ok_or_else(|| failure(&"answered without an access_token"))?;
        let lifetime = json["expires_in"].as_u64().map(Duration::from_secs);
        Ok(Fetched {
            token: SecretToken::new(token),
            lifetime,
        })
    }
}

/// A refresh token and the OAuth client it belongs to.
pub(crate) struct RefreshTokenGrant {
    /// The file the grant came from, for messages.
    pub(crate) origin: PathBuf,
    pub(crate) refresh_token: SecretToken,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretToken,
    pub(crate) endpoint: TokenEndpoint,
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
        Ok(Self {
            origin,
            refresh_token,
            client_id,
            client_secret,
            endpoint: TokenEndpoint::new(token_uri, proxies)?,
        })
    }

    fn failure(&self, what: &dyn std::fmt::Display) -> Error {
        Error::new(
            Code::Unauthenticated,
            format!(
                "credentials from {}: the token endpoint {} {what}",
                self.origin.display(),
                self.endpoint.uri
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
        self.endpoint
            .exchange(form, "the refresh token", &|what| self.failure(what))
            .await
    }
}

/// Refresh tokens, client secrets and signed assertions go only over TLS,
/// or to this machine.
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
                "refusing to send credentials in plaintext to the token endpoint {uri}: use https:// (http:// is only for loopback)"
            ),
        ));
    }
    Ok(())
}
