//! Tokens from a source of the application's own: [`TokenSource`], behind
//! the same cache, deadline and refresh-on-refusal as the built-in sources.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use super::SecretToken;
use super::cache::Fetched;
use crate::error::{Error, Result};
use crate::proto::rpc::Code;

/// The error a [`TokenSource`] may fail with; it becomes UNAUTHENTICATED
/// naming the source.
pub type TokenSourceError = Box<dyn std::error::Error + Send + Sync>;

/// An access token from a [`TokenSource`], and when it expires.
///
/// The token never appears in `Debug` output.
#[derive(Clone)]
pub struct AccessToken {
    token: String,
    expires_at: Option<SystemTime>,
}

impl AccessToken {
    /// A token with no known expiry: kept until the server refuses it.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            expires_at: None,
        }
    }

    /// This token, expiring at `when` (it is replaced a little before).
    #[must_use]
    pub fn expiring_at(mut self, when: SystemTime) -> Self {
        self.expires_at = Some(when);
        self
    }

    /// This token, expiring `lifetime` from now.
    #[must_use]
    pub fn expiring_in(self, lifetime: Duration) -> Self {
        self.expiring_at(SystemTime::now() + lifetime)
    }

    /// When the token expires, if known.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Where a client gets its access tokens when they come from the
/// application itself: workload identity, impersonation, a vault, a
/// sidecar. Give it to
/// [`ClientBuilder::with_token_source`](crate::ClientBuilder::with_token_source)
/// or [`Credentials::from_token_source`](crate::Credentials::from_token_source).
///
/// The client caches the token, asks again a little before it expires (at
/// most one request in flight, however many calls are waiting), asks again
/// at once when the server refuses it (UNAUTHENTICATED, once per call), and
/// bounds each request by the deadline of the call that needs the token.
/// An error becomes UNAUTHENTICATED naming the source ([`Self::name`]).
/// Tokens are never logged or shown.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
/// use eeops::{AccessToken, TokenSource, TokenSourceError};
///
/// /// Tokens from a secret store of the application's own.
/// #[derive(Default)]
/// struct Vault {
///     asked: AtomicUsize,
/// }
///
/// impl TokenSource for Vault {
///     async fn token(&self) -> Result<AccessToken, TokenSourceError> {
///         let n = self.asked.fetch_add(1, Ordering::SeqCst);
///         Ok(AccessToken::new(format!("token-{n}")).expiring_in(Duration::from_secs(3600)))
///     }
///
///     fn name(&self) -> String {
///         "the vault".into()
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eeops::Result<()> {
/// let emulator = eeops::emulator::Emulator::builder()
///     .with_required_token("token-0")
///     .start("127.0.0.1:0")
///     .await?;
/// let client = eeops::Client::builder()
///     .with_endpoint(emulator.endpoint())
///     .with_token_source(Vault::default())
///     .build()?;
/// client.list("projects/p").send().await?;
/// client.list("projects/p").send().await?; // the cached token
/// # emulator.shutdown().await?;
/// # Ok(()) }
/// ```
pub trait TokenSource: Send + Sync + 'static {
    /// A token for the next calls.
    fn token(
        &self,
    ) -> impl Future<Output = std::result::Result<AccessToken, TokenSourceError>> + Send;

    /// What the source is, for messages (never a secret).
    fn name(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }
}

/// [`TokenSource`] in a form that can be kept behind `dyn`.
pub(crate) trait ErasedTokenSource: Send + Sync {
    fn fetch(
        &self,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<AccessToken, TokenSourceError>> + Send + '_>>;
}

impl<T: TokenSource> ErasedTokenSource for T {
    fn fetch(
        &self,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<AccessToken, TokenSourceError>> + Send + '_>>
    {
        Box::pin(self.token())
    }
}

/// A token from `source` (described as `description`), as the cache keeps
/// it.
pub(crate) async fn fetch_from(
    source: &dyn ErasedTokenSource,
    description: &str,
) -> Result<Fetched> {
    let token = source.fetch().await.map_err(|error| {
        Error::new(
            Code::Unauthenticated,
            format!("{description}: cannot get an access token: {error}"),
        )
    })?;
    let value = token.token.trim();
    if value.is_empty() || value.chars().any(|c| !('!'..='~').contains(&c)) {
        return Err(Error::new(
            Code::Unauthenticated,
            format!(
                "{description}: the access token is empty or has characters a header cannot carry"
            ),
        ));
    }
    let lifetime = token
        .expires_at
        .map(|at| at.duration_since(SystemTime::now()).unwrap_or_default());
    Ok(Fetched {
        token: SecretToken::new(value),
        lifetime,
    })
}
