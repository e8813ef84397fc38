//! Credentials: where access tokens come from, and caching them.
//!
//! A [`Credentials`] value is one source of tokens — an explicit access
//! token, a service-account key, Application Default Credentials, the Earth
//! Engine credentials file, or none. [`CredentialSearch`] finds one in the
//! documented order. Tokens are fetched asynchronously per call attempt, from
//! a cache that refreshes them shortly before they expire and lets only one
//! refresh run at a time. Tokens never appear in `Debug` or `Display` output.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::time::Instant;

use crate::error::{Error, Result, innermost_cause};
use crate::proto::rpc::Code;
use crate::proxy::Proxies;

mod cache;
mod discover;
mod oauth;
mod service_account;
mod token_source;

use cache::{Fetched, TokenCache};
pub use discover::CredentialSearch;
pub use oauth::GOOGLE_TOKEN_URI;
use oauth::RefreshTokenGrant;
use service_account::ServiceAccountGrant;
pub use token_source::{AccessToken, TokenSource, TokenSourceError};
use token_source::{ErasedTokenSource, fetch_from};

/// The OAuth scopes every token is requested with.
pub const SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/earthengine",
    "https://www.googleapis.com/auth/cloud-platform",
];

/// The OAuth client of `earthengine authenticate`, used when the credentials
/// file names none (public identifiers of an installed application).
const EARTH_ENGINE_CLIENT_ID: &str =
    "517222506229-vsmmajv00ul0bs7p89v5m89qs8eb9359.apps.googleusercontent.com";
const EARTH_ENGINE_CLIENT_SECRET: &str = "RUP0RZ6e0pPhDzsqIJ7KlNd1";

/// A secret (access token, refresh token, client secret): shown nowhere.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretToken(Arc<str>);

impl SecretToken {
    pub(crate) fn new(secret: impl Into<Arc<str>>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one place it is sent.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `Bearer <token>` as a header value marked sensitive, which keeps it
    /// out of HTTP/2's header compression table and of hyper's and tonic's
    /// logs.
    pub(crate) fn bearer_header(&self) -> Result<http::HeaderValue> {
        let mut value =
            http::HeaderValue::try_from(format!("Bearer {}", self.expose())).map_err(|_| {
                Error::new(
                    Code::Unauthenticated,
                    "the access token has characters that cannot be sent in a header",
                )
            })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where tokens come from; cheap to clone (clones share the token cache).
#[derive(Clone)]
pub struct Credentials {
    inner: Arc<Inner>,
}

struct Inner {
    source: Source,
    description: String,
    quota_project: Option<String>,
    cache: TokenCache,
}

enum Source {
    Anonymous,
    Static(SecretToken),
    Provider(Arc<dyn gcp_auth::TokenProvider>),
    ServiceAccount(Box<ServiceAccountGrant>),
    RefreshToken(Box<RefreshTokenGrant>),
    /// The application's own [`TokenSource`].
    Custom(Arc<dyn ErasedTokenSource>),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("source", &self.inner.description)
            .field("quota_project", &self.inner.quota_project)
            .finish()
    }
}

impl std::fmt::Display for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.inner.description)
    }
}

impl Credentials {
    fn with_source(
        source: Source,
        description: impl Into<String>,
        quota_project: Option<String>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                source,
                description: description.into(),
                quota_project: quota_project.filter(|p| !p.is_empty()),
                cache: TokenCache::default(),
            }),
        }
    }

    /// No credentials: calls go out without an `authorization` header.
    pub fn anonymous() -> Self {
        Self::with_source(Source::Anonymous, "no credentials (anonymous)", None)
    }

    /// A ready access token, used as given (it is not refreshed).
    pub fn from_access_token(token: impl AsRef<str>) -> Result<Self> {
        let token = token.as_ref().trim();
        if token.is_empty() || token.chars().any(|c| !(' '..='~').contains(&c) || c == ' ') {
            return Err(Error::new(
                Code::InvalidArgument,
                "the access token is empty or has characters a header cannot carry",
            ));
        }
        Ok(Self::with_source(
            Source::Static(SecretToken::new(token)),
            "an access token given explicitly",
            None,
        ))
    }

    /// A Google service-account key file (JSON); tokens come from the token
    /// endpoint the key names (`token_uri`, https or loopback http), reached
    /// through the environment's proxy ([`Proxies::from_env`]) unless
    /// [`Credentials::with_proxies`] says otherwise.
    pub fn from_service_account_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let json = read_json(path, "service-account key")?;
        let grant = ServiceAccountGrant::load(path, &json, Proxies::from_env())?;
        let description = format!("service account {} (key {})", grant.email(), path.display());
        Ok(Self::with_source(
            Source::ServiceAccount(Box::new(grant)),
            description,
            json["quota_project_id"].as_str().map(str::to_owned),
        ))
    }

    /// The file `earthengine authenticate` writes (usually
    /// `~/.config/earthengine/credentials`): a refresh token, optionally the
    /// OAuth client id and secret, and a project, which becomes the quota
    /// project. Tokens come from Google's token endpoint unless
    /// [`Credentials::with_token_uri`] names another.
    pub fn from_earth_engine_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let json = read_json(path, "Earth Engine credentials")?;
        let grant = refresh_grant(path, &json, GOOGLE_TOKEN_URI, "refresh_token")?;
        Ok(Self::with_source(
            Source::RefreshToken(Box::new(grant)),
            format!("Earth Engine credentials {}", path.display()),
            json["project"].as_str().map(str::to_owned),
        ))
    }

    /// An `authorized_user` ADC file (what `gcloud auth application-default
    /// login` writes).
    pub(crate) fn from_authorized_user_file(path: &Path, json: &Value) -> Result<Self> {
        let token_uri = json["token_uri"].as_str().unwrap_or(GOOGLE_TOKEN_URI);
        let grant = refresh_grant(path, json, token_uri, "refresh_token")?;
        Ok(Self::with_source(
            Source::RefreshToken(Box::new(grant)),
            format!("user credentials {}", path.display()),
            json["quota_project_id"].as_str().map(str::to_owned),
        ))
    }

    /// Tokens from a source of the application's own (see
    /// [`TokenSource`]): cached, refreshed before they expire and when the
    /// server refuses one, each fetch bounded by the call's deadline.
    pub fn from_token_source(source: impl TokenSource) -> Self {
        let description = format!("token source {}", source.name());
        Self::with_source(Source::Custom(Arc::new(source)), description, None)
    }

    /// Application Default Credentials through gcp_auth: a key named by
    /// `GOOGLE_APPLICATION_CREDENTIALS`, the gcloud ADC file, the metadata
    /// server, the gcloud CLI.
    pub async fn application_default() -> Result<Self> {
        let provider = gcp_auth::provider().await.map_err(|e| {
            Error::new(
                Code::Unauthenticated,
                format!("no Application Default Credentials: {e}"),
            )
        })?;
        let quota_project = provider.project_id().await.ok().map(|p| p.to_string());
        Ok(Self::with_source(
            Source::Provider(provider),
            "Application Default Credentials",
            quota_project,
        ))
    }

    /// Sends the refresh token to another token endpoint (https, or
    /// http to loopback only); for credentials that use a refresh token.
    pub fn with_token_uri(self, token_uri: impl AsRef<str>) -> Result<Self> {
        let Source::RefreshToken(grant) = &self.inner.source else {
            return Ok(self);
        };
        let (token_uri, proxies) = (
            token_uri.as_ref().to_owned(),
            grant.endpoint.proxies.clone(),
        );
        self.with_grant(token_uri, proxies)
    }

    /// Reaches the token endpoint through these proxies instead of those
    /// of the environment ([`Proxies::from_env`]); for credentials that use
    /// a refresh token or a service-account key (a client applies its own
    /// to the credentials it finds). The metadata server and gcloud are
    /// reached directly.
    pub fn with_proxies(self, proxies: Proxies) -> Self {
        // The token endpoint is unchanged, and was accepted before.
        let fallback = self.clone();
        match &self.inner.source {
            Source::RefreshToken(grant) => {
                let token_uri = grant.endpoint.uri.clone();
                self.with_grant(token_uri, proxies).unwrap_or(fallback)
            }
            Source::ServiceAccount(grant) => match grant.with_proxies(proxies) {
                Ok(grant) => Self::with_source(
                    Source::ServiceAccount(Box::new(grant)),
                    self.inner.description.clone(),
                    self.inner.quota_project.clone(),
                ),
                Err(_) => fallback,
            },
            _ => self,
        }
    }

    /// These refresh-token credentials with another endpoint or proxies.
    fn with_grant(self, token_uri: String, proxies: Proxies) -> Result<Self> {
        let Source::RefreshToken(grant) = &self.inner.source else {
            return Ok(self);
        };
        let grant = RefreshTokenGrant::new(
            grant.origin.clone(),
            grant.refresh_token.clone(),
            grant.client_id.clone(),
            grant.client_secret.clone(),
            token_uri,
            proxies,
        )?;
        Ok(Self::with_source(
            Source::RefreshToken(Box::new(grant)),
            self.inner.description.clone(),
            self.inner.quota_project.clone(),
        ))
    }

    /// What these credentials are, for messages (never the secret).
    pub fn description(&self) -> &str {
        &self.inner.description
    }

    /// The project the credentials bill to, if they name one.
    pub fn quota_project(&self) -> Option<&str> {
        self.inner.quota_project.as_deref()
    }

    /// True when no token is ever sent.
    pub fn is_anonymous(&self) -> bool {
        matches!(self.inner.source, Source::Anonymous)
    }

    /// Whether a refused token can be replaced by asking again.
    pub(crate) fn can_refresh(&self) -> bool {
        matches!(
            self.inner.source,
            Source::Provider(_)
                | Source::ServiceAccount(_)
                | Source::RefreshToken(_)
                | Source::Custom(_)
        )
    }

    /// The token for the next attempt (`None` when anonymous). Fetching one
    /// ends by `deadline`: a token source that does not answer fails the
    /// call with DEADLINE_EXCEEDED naming the source.
    pub(crate) async fn token(&self, deadline: Option<Instant>) -> Result<Option<SecretToken>> {
        match &self.inner.source {
            Source::Anonymous => Ok(None),
            Source::Static(token) => Ok(Some(token.clone())),
            _ => match self.inner.cache.fresh() {
                Some(token) => Ok(Some(token)),
                // Boxed so that a fetch's large future is not part of every
                // call's.
                None => Box::pin(before(deadline, self.fetch_token(), || {
                    Error::new(
                        Code::DeadlineExceeded,
                        format!(
                            "{}: no access token before the call's deadline: the token source did not answer",
                            self.inner.description
                        ),
                    )
                }))
                .await
                .map(Some),
            },
        }
    }

    /// Forgets a token the server refused, so that the next attempt gets a
    /// new one.
    pub(crate) fn refused(&self, token: &SecretToken) {
        self.inner.cache.forget(token);
    }

    /// A token from the source, through the cache's one fetch in flight.
    async fn fetch_token(&self) -> Result<SecretToken> {
        let fetch = || async {
            match &self.inner.source {
                Source::Anonymous => Err(Error::new(
                    Code::Internal,
                    "anonymous credentials have no token",
                )),
                Source::Static(token) => Ok(Fetched {
                    token: token.clone(),
                    lifetime: None,
                }),
                Source::RefreshToken(grant) => grant.fetch().await,
                Source::ServiceAccount(grant) => grant.fetch().await,
                Source::Provider(provider) => self.token_from_provider(provider.as_ref()).await,
                Source::Custom(source) => {
                    fetch_from(source.as_ref(), &self.inner.description).await
                }
            }
        };
        self.inner
            .cache
            .get(|| announced(&self.inner.description, fetch))
            .await
    }
}

/// Runs a token fetch and tells tracing of it: the source and how long the
/// token lasts, or why there is none; never the token.
async fn announced<Fut>(source: &str, fetch: impl FnOnce() -> Fut) -> Result<Fetched>
where
    Fut: Future<Output = Result<Fetched>>,
{
    let fetched = fetch().await;
    match &fetched {
        Ok(token) => tracing::info!(
            source,
            lifetime_s = token.lifetime.map(|lifetime| lifetime.as_secs()),
            "fetched an access token"
        ),
        Err(error) => tracing::info!(source, reason = %error, "fetching an access token failed"),
    }
    fetched
}

/// Runs `work` until `deadline`, failing with `late()` when it passes first.
pub(crate) async fn before<T>(
    deadline: Option<Instant>,
    work: impl Future<Output = Result<T>>,
    late: impl FnOnce() -> Error,
) -> Result<T> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, work)
            .await
            .unwrap_or_else(|_| Err(late())),
        None => work.await,
    }
}

impl Credentials {
    /// A token from a gcp_auth provider, with its remaining lifetime; a
    /// failure names the innermost cause (such as a refused connection)
    /// rather than the wrapping.
    async fn token_from_provider(&self, provider: &dyn gcp_auth::TokenProvider) -> Result<Fetched> {
        let token = provider.token(&SCOPES).await.map_err(|e| {
            Error::new(
                Code::Unauthenticated,
                format!(
                    "{}: cannot get an access token: {}",
                    self.inner.description,
                    innermost_cause(&e)
                ),
            )
        })?;
        let expires_at = SystemTime::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(token.expires_at().timestamp()).unwrap_or(0));
        let lifetime = expires_at
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        Ok(Fetched {
            token: SecretToken::new(token.as_str()),
            lifetime: Some(lifetime),
        })
    }
}

fn read_json(path: &Path, what: &str) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::new(
            Code::Unauthenticated,
            format!("cannot read the {what} file {}: {e}", path.display()),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::new(
            Code::Unauthenticated,
            format!("the {what} file {} is not valid JSON: {e}", path.display()),
        )
    })
}

fn refresh_grant(
    path: &Path,
    json: &Value,
    token_uri: &str,
    field: &str,
) -> Result<RefreshTokenGrant> {
    let refresh_token = json[field]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::new(
                Code::Unauthenticated,
                format!("the credentials file {} has no {field}", path.display()),
            )
        })?;
    RefreshTokenGrant::new(
        PathBuf::from(path),
        SecretToken::new(refresh_token),
        json["client_id"]
            .as_str()
            .unwrap_or(EARTH_ENGINE_CLIENT_ID)
            .to_owned(),
        SecretToken::new(
            json["client_secret"]
                .as_str()
                .unwrap_or(EARTH_ENGINE_CLIENT_SECRET),
        ),
        token_uri.to_owned(),
        Proxies::from_env(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show() {
        let credentials = Credentials::from_access_token("ya29.s3cret").expect("a token");
        for shown in [
            format!("{credentials:?}"),
            credentials.to_string(),
            format!("{:?}", SecretToken::new("s3cret")),
        ] {
            assert!(!shown.contains("s3cret"), "{shown}");
        }
    }

    #[test]
    fn bad_access_tokens_are_refused() {
        for bad in ["", "   ", "a\r\nb", "two words"] {
            assert!(Credentials::from_access_token(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn missing_and_broken_files_name_the_file() {
        let missing = Credentials::from_earth_engine_file("/nonexistent/eeops/credentials")
            .expect_err("missing");
        assert_eq!(missing.code(), Code::Unauthenticated);
        assert!(missing.message().contains("/nonexistent/eeops/credentials"));
    }
}
