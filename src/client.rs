//! [`Client`]: the one public entry point for the five Operations calls.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use crate::auth::{CredentialSearch, Credentials, SecretToken};
use crate::error::{Error, Result};
use crate::http::is_remote_plaintext;
use crate::options::{CallContext, CallOptions, append_headers};
use crate::proto::rpc::Code;
use crate::requests::{
    CancelOperation, DeleteOperation, GetOperation, ListOperations, WaitOperation,
};
use crate::retry::{self, RetryPolicy};
use crate::routes::{ApiVersion, Routes, Rpc};
use crate::transport::auto::AutoTransport;
use crate::transport::grpc::GrpcTransport;
use crate::transport::rest::{self as rest_transport, HttpPreview, RestTransport};

/// The largest response a client accepts unless told otherwise.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
use crate::transport::{BoxFuture, Transport};

/// Earth Engine's public endpoint, the default.
pub const EARTH_ENGINE_ENDPOINT: &str = "https://earthengine.googleapis.com";

/// The per-call timeout used when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Which wire protocol a client speaks. A builder given none picks REST for
/// Earth Engine's endpoints (whose task metadata has documented JSON names
/// but no published field numbers) and gRPC for any other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// gRPC over HTTP/2.
    #[default]
    Grpc,
    /// HTTP/JSON following the google.api.http transcoding rules.
    Rest,
    /// gRPC first; REST when the endpoint does not speak gRPC (no gRPC
    /// status in its reply, an HTTP/2 failure, or an unreachable gRPC side
    /// while REST answers). The first clear answer decides for the client's
    /// lifetime.
    Auto,
}

/// A client for `google.longrunning.Operations` (Earth Engine's
/// `projects.operations` first of all).
///
/// Cheap to clone: clones share one connection and its configuration. Every
/// method takes `&self` and returns a request builder that can be awaited
/// directly or configured first.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eeops::Result<()> {
/// # let emulator = eeops::emulator::Emulator::builder().with_seed("my-project", 5).start("127.0.0.1:0").await?;
/// # let endpoint = emulator.endpoint();
/// // The emulator needs no credentials.
/// let client = eeops::Client::builder()
///     .with_endpoint(&endpoint)
///     .with_credentials(eeops::Credentials::anonymous())
///     .build()?;
/// let page = client.list("projects/my-project").set_page_size(2).send().await?;
/// let first = &page.operations[0];
/// let fresh = client.get(&first.name).with_timeout(std::time::Duration::from_secs(5)).await?;
/// assert_eq!(fresh.name, first.name);
/// # emulator.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    transport: Box<dyn Transport>,
    endpoint: String,
    routes: Routes,
    /// Given, or found on first use.
    credentials: tokio::sync::OnceCell<Credentials>,
    search: CredentialSearch,
    /// The builder's options, merged once: what a call that sets none of
    /// its own runs with, and what a call's own options go over. Their
    /// headers are left out: every call sends them from `fixed_headers`.
    defaults: CallOptions,
    /// The headers every call carries, converted once: the builder's own
    /// and `x-goog-api-client`.
    fixed_headers: HeaderMap,
    /// `x-goog-user-project` when the builder or the environment names it.
    quota_header: Option<HeaderValue>,
    retry: RetryPolicy,
}

/// Configures and builds a [`Client`].
#[derive(Clone, Debug)]
#[must_use]
pub struct ClientBuilder {
    endpoint: String,
    /// Chosen, or picked from the endpoint at `build()`.
    transport: Option<TransportKind>,
    api_version: ApiVersion,
    routes: Option<Routes>,
    max_response_bytes: usize,
    credentials: Option<Credentials>,
    search: CredentialSearch,
    quota_project: Option<String>,
    insecure_plaintext: bool,
    defaults: CallOptions,
    retry: RetryPolicy,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            endpoint: EARTH_ENGINE_ENDPOINT.to_owned(),
            transport: None,
            api_version: ApiVersion::default(),
            routes: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            credentials: None,
            search: CredentialSearch::from_env(),
            quota_project: None,
            insecure_plaintext: false,
            defaults: CallOptions::new().with_timeout(DEFAULT_TIMEOUT),
            retry: RetryPolicy::default(),
        }
    }
}

impl ClientBuilder {
    /// The service URL: `http://host:port` for plaintext HTTP/2 (emulators),
    /// `https://host` for TLS with the system's root certificates.
    pub fn with_endpoint(mut self, url: impl AsRef<str>) -> Self {
        self.endpoint = url.as_ref().trim_end_matches('/').to_owned();
        self
    }

    /// The wire protocol. Without one: REST for Earth Engine's endpoints
    /// ([`crate::is_earth_engine_endpoint`]), gRPC for any other.
    pub fn with_transport(mut self, transport: TransportKind) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The Earth Engine API version whose REST routes are used (v1 unless
    /// set); ignored when [`ClientBuilder::with_routes`] gives other routes.
    pub fn with_api_version(mut self, version: ApiVersion) -> Self {
        self.api_version = version;
        self
    }

    /// The REST routes, such as [`Routes::generic`] for services that use
    /// the bindings of `google/longrunning/operations.proto`, or bindings of
    /// your own.
    pub fn with_routes(mut self, routes: Routes) -> Self {
        self.routes = Some(routes);
        self
    }

    /// The credentials to call with. Without this, they are found on first
    /// use by [`CredentialSearch::from_env`] (explicit sources only, else
    /// anonymous, for endpoints on this machine).
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// How credentials are found when none are given (see
    /// [`CredentialSearch`]).
    pub fn with_credential_search(mut self, search: CredentialSearch) -> Self {
        self.search = search;
        self
    }

    /// The project charged for quota (`x-goog-user-project`). Precedence:
    /// this, then `GOOGLE_CLOUD_QUOTA_PROJECT`, then the credentials' own
    /// quota project. Sent only with credentials.
    pub fn with_quota_project(mut self, project: impl Into<String>) -> Self {
        self.quota_project = Some(project.into()).filter(|p: &String| !p.is_empty());
        self
    }

    /// Allows sending credentials over plaintext `http://` to hosts other
    /// than this machine. Only for trusted networks: by default building
    /// such a client fails.
    pub fn with_insecure_plaintext_credentials(mut self, allow: bool) -> Self {
        self.insecure_plaintext = allow;
        self
    }

    /// The largest response accepted (64 MiB unless set); a larger one fails
    /// the call with RESOURCE_EXHAUSTED instead of filling memory.
    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// The default per-call timeout (retries included); 60 s unless set.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.defaults = self.defaults.with_timeout(timeout);
        self
    }

    /// A header sent with every call.
    pub fn with_header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.defaults = self.defaults.with_header(name, value);
        self
    }

    /// The retry policy for every call (see [`RetryPolicy`] for the default).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Builds the client. No connection is made until the first call, but
    /// this must run inside a Tokio runtime.
    pub fn build(self) -> Result<Client> {
        self.defaults.check()?;
        let sends_credentials = self.credentials.as_ref().is_none_or(|c| !c.is_anonymous());
        if sends_credentials && !self.insecure_plaintext && is_remote_plaintext(&self.endpoint) {
            return Err(Error::new(
                Code::FailedPrecondition,
                format!(
                    "refusing to send credentials in plaintext to {}: use https://, anonymous credentials (--no-auth), \
                     or allow it explicitly on a trusted network (--allow-insecure-plaintext)",
                    self.endpoint
                ),
            ));
        }
        let on_this_machine = !is_remote(&self.endpoint);
        let search = self.search.explicit_only(on_this_machine);
        let credentials = tokio::sync::OnceCell::new_with(self.credentials);
        let quota_project = self.quota_project.or_else(|| {
            std::env::var("GOOGLE_CLOUD_QUOTA_PROJECT")
                .ok()
                .filter(|p| !p.trim().is_empty())
        });
        let routes = self
            .routes
            .unwrap_or_else(|| Routes::earth_engine(self.api_version));
        let kind = self
            .transport
            .unwrap_or_else(|| crate::endpoint::default_transport(&self.endpoint));
        let transport: Box<dyn Transport> = match kind {
            TransportKind::Grpc => {
                Box::new(GrpcTransport::new(&self.endpoint, self.max_response_bytes)?)
            }
            TransportKind::Rest => Box::new(RestTransport::new(
                &self.endpoint,
                routes.clone(),
                self.max_response_bytes,
            )?),
            TransportKind::Auto => Box::new(AutoTransport::new(
                GrpcTransport::new(&self.endpoint, self.max_response_bytes)?,
                RestTransport::new(&self.endpoint, routes.clone(), self.max_response_bytes)?,
            )),
        };
        let fixed_headers = fixed_headers(&self.defaults)?;
        let quota_header = quota_project.as_deref().map(quota_header).transpose()?;
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                endpoint: self.endpoint,
                routes,
                credentials,
                search,
                defaults: CallOptions::new().over(&self.defaults),
                fixed_headers,
                quota_header,
                retry: self.retry,
            }),
        })
    }
}

impl Client {
    /// A client over a transport of the tests' own (no retries, anonymous).
    #[cfg(test)]
    pub(crate) fn over_transport(transport: Box<dyn Transport>) -> Client {
        Client {
            inner: Arc::new(Inner {
                transport,
                endpoint: "http://127.0.0.1:9".to_owned(),
                routes: Routes::empty(),
                credentials: tokio::sync::OnceCell::new_with(Some(Credentials::anonymous())),
                search: CredentialSearch::new(),
                defaults: CallOptions::new().with_timeout(DEFAULT_TIMEOUT),
                fixed_headers: HeaderMap::new(),
                quota_header: None,
                retry: RetryPolicy::never(),
            }),
        }
    }

    /// A builder with Earth Engine's endpoint, gRPC, a 60 s timeout and the
    /// default retry policy.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// Gets the latest state of an operation by its full name.
    pub fn get(&self, name: impl Into<String>) -> GetOperation {
        GetOperation::new(self.clone(), name.into())
    }

    /// Lists the operations under `parent` (for Earth Engine,
    /// `projects/{project}`).
    pub fn list(&self, parent: impl Into<String>) -> ListOperations {
        ListOperations::new(self.clone(), parent.into())
    }

    /// Asks the server to cancel an operation (asynchronous, best effort).
    pub fn cancel(&self, name: impl Into<String>) -> CancelOperation {
        CancelOperation::new(self.clone(), name.into())
    }

    /// Forgets an operation's result; this does not cancel it.
    pub fn delete(&self, name: impl Into<String>) -> DeleteOperation {
        DeleteOperation::new(self.clone(), name.into())
    }

    /// Waits on the server until the operation is done or a timeout passes,
    /// then returns its latest state.
    pub fn wait(&self, name: impl Into<String>) -> WaitOperation {
        WaitOperation::new(self.clone(), name.into())
    }

    pub(crate) fn transport(&self) -> &dyn Transport {
        self.inner.transport.as_ref()
    }

    /// Runs one call through the retry loop with the merged options; the
    /// error names `action`.
    pub(crate) async fn execute<T, F>(
        &self,
        action: impl FnOnce() -> String,
        resource: &str,
        options: &CallOptions,
        repeatable: bool,
        precondition: Result<()>,
        attempt: F,
    ) -> Result<T>
    where
        F: Fn(CallContext) -> BoxFuture<Result<T>>,
    {
        // Most calls set no options of their own and use the defaults merged
        // once; merged ones are boxed, because this future is allocated for
        // every call and without them inline it stays small enough for the
        // allocator's fast path.
        let merged;
        let options: &CallOptions = if options.is_empty() {
            &self.inner.defaults
        } else {
            merged = Box::new(options.over(&self.inner.defaults));
            &merged
        };
        let result = async {
            precondition?;
            options.check()?;
            let deadline = options.timeout.map(|timeout| Instant::now() + timeout);
            let policy = options.retry.as_ref().unwrap_or(&self.inner.retry);
            let credentials = self.credentials_ref().await?;
            let (attempt, options) = (&attempt, &options);
            // A token the server refuses is replaced once; the same refusal
            // again ends the call.
            let mut refused: Option<SecretToken> = None;
            loop {
                let last_token = std::sync::Mutex::new(None);
                let outcome = retry::run(policy, repeatable, deadline, |_| {
                    let (refused, last_token) = (refused.clone(), &last_token);
                    async move {
                        let token = credentials.token(refused.as_ref()).await?;
                        // Built for each attempt rather than cloned: most
                        // calls make one.
                        let mut all = self.request_headers(credentials, resource, options)?;
                        if let Some(token) = &token {
                            all.insert(http::header::AUTHORIZATION, token.bearer_header()?);
                        }
                        *last_token
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = token;
                        attempt(CallContext {
                            deadline,
                            headers: all,
                        })
                        .await
                    }
                })
                .await;
                let used = last_token
                    .into_inner()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match outcome {
                    Err(error)
                        if error.code() == Code::Unauthenticated
                            && refused.is_none()
                            && used.is_some()
                            && credentials.can_refresh() =>
                    {
                        tracing::debug!(%error, "token refused; refreshing it once");
                        refused = used;
                    }
                    other => return other,
                }
            }
        }
        .await;
        result.map_err(|error| error.with_action(action()))
    }

    /// The credentials calls are made with: those given to the builder, or
    /// the ones the credential search finds (once, on first use).
    pub async fn credentials(&self) -> Result<Credentials> {
        self.credentials_ref().await.cloned()
    }

    async fn credentials_ref(&self) -> Result<&Credentials> {
        if let Some(credentials) = self.inner.credentials.get() {
            return Ok(credentials);
        }
        // The search is boxed so that its large future is not part of every
        // call's.
        Box::pin(self.find_credentials()).await
    }

    async fn find_credentials(&self) -> Result<&Credentials> {
        self.inner
            .credentials
            .get_or_try_init(|| async {
                let found = self.inner.search.find().await?;
                tracing::info!(credentials = %found, "credentials");
                Ok::<_, Error>(found)
            })
            .await
    }

    /// The headers of a call besides the bearer token: the client's own,
    /// the call's, the quota project and routing.
    fn request_headers(
        &self,
        credentials: &Credentials,
        resource: &str,
        options: &CallOptions,
    ) -> Result<HeaderMap> {
        let fixed = &self.inner.fixed_headers;
        // Room for everything below, so that the map never grows.
        let mut headers = HeaderMap::with_capacity(fixed.len() + options.headers.len() + 3);
        for (name, value) in fixed {
            headers.append(name.clone(), value.clone());
        }
        append_headers(&mut headers, &options.headers)?;
        if !credentials.is_anonymous() {
            let quota = match (&self.inner.quota_header, credentials.quota_project()) {
                (Some(header), _) => Some(header.clone()),
                (None, Some(project)) => Some(quota_header(project)?),
                (None, None) => None,
            };
            if let Some(quota) = quota {
                headers.insert(X_GOOG_USER_PROJECT, quota);
            }
        }
        if !resource.is_empty() {
            headers.insert(X_GOOG_REQUEST_PARAMS, request_params(resource)?);
        }
        Ok(headers)
    }

    /// What a call would send over HTTP/JSON with this client's routes and
    /// options, whatever its transport; nothing is sent.
    pub(crate) fn preview(
        &self,
        rpc: Rpc,
        request: &impl prost::Message,
        type_name: &str,
        resource: &str,
        options: &CallOptions,
    ) -> Result<HttpPreview> {
        let options = options.over(&self.inner.defaults);
        options.check()?;
        // Known credentials show as a redacted bearer token; ones still to be
        // found show as what they will be once found.
        let headers = match self.inner.credentials.get() {
            Some(credentials) => {
                let mut headers = self.request_headers(credentials, resource, &options)?;
                if !credentials.is_anonymous() {
                    headers.insert(
                        http::header::AUTHORIZATION,
                        HeaderValue::from_static("Bearer <redacted>"),
                    );
                }
                headers
            }
            None => self.request_headers(&Credentials::anonymous(), resource, &options)?,
        };
        let context = CallContext {
            deadline: options.timeout.map(|timeout| Instant::now() + timeout),
            headers,
        };
        rest_transport::preview(
            &self.inner.endpoint,
            &self.inner.routes,
            rpc,
            request,
            type_name,
            &context,
        )
    }

    /// The deadline-aware timeout to ask the server to wait for.
    pub(crate) fn call_timeout(&self, options: &CallOptions) -> Option<Duration> {
        options.timeout.or(self.inner.defaults.timeout)
    }
}

/// `x-goog-api-client`: who is calling, as Google's client libraries say it.
pub(crate) const API_CLIENT: &str = concat!(
    "gl-rust/",
    env!("EEOPS_RUSTC_VERSION"),
    " eeops/",
    env!("CARGO_PKG_VERSION")
);

const X_GOOG_REQUEST_PARAMS: HeaderName = HeaderName::from_static("x-goog-request-params");
const X_GOOG_USER_PROJECT: HeaderName = HeaderName::from_static("x-goog-user-project");
const X_GOOG_API_CLIENT: HeaderName = HeaderName::from_static("x-goog-api-client");

/// The headers every call of a client carries: its default headers and
/// `x-goog-api-client`.
fn fixed_headers(defaults: &CallOptions) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    append_headers(&mut headers, &defaults.headers)?;
    headers.insert(X_GOOG_API_CLIENT, HeaderValue::from_static(API_CLIENT));
    Ok(headers)
}

fn quota_header(project: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(project).map_err(|_| {
        Error::new(
            Code::InvalidArgument,
            format!("the quota project {project:?} cannot be sent in a header"),
        )
    })
}

/// `name=<resource>` for `x-goog-request-params`: percent-encoded except
/// for `/`, which Google's clients leave as it is.
fn request_params(resource: &str) -> Result<HeaderValue> {
    use crate::percent::{KEEPING_SLASHES, encode_into, encoded_len};
    let mut text = String::with_capacity("name=".len() + encoded_len(resource, KEEPING_SLASHES));
    text.push_str("name=");
    encode_into(&mut text, resource, KEEPING_SLASHES);
    // A string filled to its capacity becomes the header's bytes without a
    // copy or a second allocation.
    let mut value = HeaderValue::try_from(text).map_err(|_| {
        Error::new(
            Code::InvalidArgument,
            format!(
                "the name {} cannot be sent in a header",
                shown_name(resource)
            ),
        )
    })?;
    // A value that differs from call to call is kept out of HTTP/2's header
    // compression table, where it would only push out the headers that do
    // repeat (this flag means exactly "never index" to the HPACK encoder).
    value.set_sensitive(true);
    Ok(value)
}

/// Whether the endpoint is a host other than this machine.
fn is_remote(endpoint: &str) -> bool {
    endpoint
        .parse::<http::Uri>()
        .ok()
        .and_then(|uri| uri.host().map(|host| !crate::http::is_loopback_host(host)))
        .unwrap_or(true)
}

/// Refuses an empty resource name before anything is sent.
/// Names longer than this are refused: no service has such names, and they
/// would not fit in a request's routing header.
pub(crate) const MAX_NAME_BYTES: usize = 4096;

pub(crate) fn require_name(name: &str, what: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::new(
            Code::InvalidArgument,
            format!("the {what} name is empty"),
        ));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Error::new(
            Code::InvalidArgument,
            format!(
                "the {what} name {} is {} bytes long; names are at most {MAX_NAME_BYTES}",
                shown_name(name),
                name.len()
            ),
        ));
    }
    Ok(())
}

/// A name as messages show it: cut short when very long.
pub(crate) fn shown_name(name: &str) -> String {
    const SHOWN: usize = 200;
    if name.chars().count() <= SHOWN {
        name.to_owned()
    } else {
        format!("{}…", name.chars().take(SHOWN).collect::<String>())
    }
}
