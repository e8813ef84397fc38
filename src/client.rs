//! [`Client`]: the one public entry point for the five Operations calls.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::{CredentialSearch, Credentials, TokenSource};
use crate::call::{Pipeline, Setup};
use crate::error::{Error, Result};
use crate::host::is_remote_plaintext;
use crate::http::KeepAlive;
use crate::http::{Tls, config_trusting, roots_from_pem};
use crate::layer::{BoxBody, BoxError, HttpService, Layers};
use crate::names::{OperationName, qualify};
use crate::options::CallOptions;
use crate::proto::longrunning::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
    WaitOperationRequest,
};
use crate::proto::rpc::Code;
use crate::proxy::Proxies;
use crate::requests::{
    CancelOperation, DeleteOperation, GetOperation, ListOperations, WaitOperation,
};
use crate::retry::RetryPolicy;
use crate::routes::{ApiVersion, Routes};
use crate::transport::Transport;
use crate::transport::auto::AutoTransport;
use crate::transport::grpc::GrpcTransport;
use crate::transport::rest::RestTransport;

/// The largest response a client accepts unless told otherwise.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

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
    /// gRPC first; REST only on evidence that the endpoint does not speak
    /// gRPC (an HTTP reply without a gRPC status, a peer that does not
    /// speak HTTP/2, or UNIMPLEMENTED for a get or list). A failed
    /// connection or a lost reply is no such evidence, so a call the server
    /// may have acted on is never sent again over REST. The first clear
    /// answer decides for the client's lifetime.
    Auto,
}

/// A client for `google.longrunning.Operations` (Earth Engine's
/// `projects.operations` first of all).
///
/// Cheap to clone: clones share one connection and its configuration. Every
/// method takes `&self` and returns a request builder that can be awaited
/// directly or configured first.
///
/// A long-lived client survives its connections: a request that never
/// reached the server is sent again on a new connection (see
/// [`RetryPolicy`]), and a shared HTTP/2 connection (gRPC's, or REST's over
/// TLS) that goes silent without closing is replaced by the first call
/// whose deadline passes with no reply on it
/// — by default within 60 s, the default call timeout ([`DEFAULT_TIMEOUT`],
/// [`ClientBuilder::with_timeout`]); keep-alive pings
/// ([`ClientBuilder::with_keep_alive`]) bound calls with longer deadlines.
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
    pipeline: Arc<Pipeline>,
    /// Where bare task ids are completed.
    project: Option<Arc<str>>,
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
    proxies: Proxies,
    keep_alive: KeepAlive,
    layers: Layers,
    project: Option<String>,
    tls: TlsChoice,
}

/// What `https://` connections trust, as the builder was told.
#[derive(Clone, Default)]
enum TlsChoice {
    /// The system's roots (`SSL_CERT_FILE`, `SSL_CERT_DIR` included).
    #[default]
    System,
    /// Only the certificates in this PEM text (read at `build()`).
    RootsPem(Vec<u8>),
    /// Only these roots.
    Roots(rustls::RootCertStore),
    /// The user's whole configuration.
    Config(Box<rustls::ClientConfig>),
}

impl std::fmt::Debug for TlsChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsChoice::System => f.write_str("system roots"),
            TlsChoice::RootsPem(pem) => write!(f, "roots from {} bytes of PEM", pem.len()),
            TlsChoice::Roots(roots) => write!(f, "{} roots", roots.len()),
            TlsChoice::Config(_) => f.write_str("a TLS configuration"),
        }
    }
}

impl TlsChoice {
    fn resolve(self) -> Result<Tls> {
        Ok(match self {
            TlsChoice::System => Tls::system(),
            TlsChoice::RootsPem(pem) => Tls::from_config(config_trusting(roots_from_pem(&pem)?)?),
            TlsChoice::Roots(roots) => Tls::from_config(config_trusting(roots)?),
            TlsChoice::Config(config) => Tls::from_config(*config),
        })
    }
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
            proxies: Proxies::from_env(),
            keep_alive: KeepAlive::default(),
            layers: Layers::default(),
            project: None,
            tls: TlsChoice::System,
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
    /// your own; Earth Engine's unless set. They also say which names a
    /// call may send, over either transport: a name that fits none of an
    /// RPC's bindings is refused with INVALID_ARGUMENT before it is sent
    /// (an RPC without bindings is not checked). A gRPC client of a service
    /// whose names are `operations/{id}` takes [`Routes::generic`].
    pub fn with_routes(mut self, routes: Routes) -> Self {
        self.routes = Some(routes);
        self
    }

    /// The project bare task ids belong to: every method then takes `ABC123`
    /// for `projects/{project}/operations/ABC123` (see
    /// [`Client::full_name`]), and [`Client::list_in_project`] lists it.
    /// Full names are used as given. Without a project, a bare id is refused
    /// when the call is sent.
    pub fn with_project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into()).filter(|p: &String| !p.is_empty());
        self
    }

    /// The credentials to call with. Without this, they are found on first
    /// use by [`CredentialSearch::from_env`] (explicit sources only, else
    /// anonymous, for endpoints on this machine).
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Calls with tokens from a source of the application's own (workload
    /// identity, impersonation, a vault): shorthand for
    /// [`with_credentials`](Self::with_credentials) with
    /// [`Credentials::from_token_source`]. See [`TokenSource`] for how
    /// its tokens are cached and refreshed.
    pub fn with_token_source(self, source: impl TokenSource) -> Self {
        self.with_credentials(Credentials::from_token_source(source))
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

    /// Connects through the HTTP proxy at `url`
    /// (`http://[user:password@]host[:port]`) — for endpoints on this machine
    /// too — except to hosts `NO_PROXY` lists. See [`Proxies`].
    pub fn with_proxy(mut self, url: impl AsRef<str>) -> Self {
        self.proxies = self.proxies.with_url(url);
        self
    }

    /// Connects directly, whatever the proxy variables say.
    pub fn without_proxy(self) -> Self {
        self.with_proxies(Proxies::none())
    }

    /// Which proxy connections go through; [`Proxies::from_env`] (curl's
    /// variables) unless set.
    pub fn with_proxies(mut self, proxies: Proxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// Trusts only the root certificates in `pem` (one or more
    /// `-----BEGIN CERTIFICATE-----` blocks) for `https://` endpoints, over
    /// both transports, instead of the system's: for a private certificate
    /// authority. Text without a certificate, or with one that cannot be
    /// read, fails `build()` with INVALID_ARGUMENT. Without this (or
    /// [`with_root_certificates`](Self::with_root_certificates) or
    /// [`with_tls_config`](Self::with_tls_config)), the system's roots are
    /// trusted, which `SSL_CERT_FILE` and `SSL_CERT_DIR` replace.
    pub fn with_root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.tls = TlsChoice::RootsPem(pem.as_ref().to_vec());
        self
    }

    /// Trusts only `roots` for `https://` endpoints, over both transports.
    pub fn with_root_certificates(mut self, roots: rustls::RootCertStore) -> Self {
        self.tls = TlsChoice::Roots(roots);
        self
    }

    /// The whole TLS client configuration of `https://` connections, over
    /// both transports: roots, client certificates, protocol versions,
    /// crypto provider. Its ALPN protocols are replaced by the HTTP
    /// versions each transport speaks (HTTP/2 for gRPC; HTTP/2 and 1.1 for
    /// REST). The last of this, [`with_root_certificates`] and
    /// [`with_root_certificates_pem`] wins.
    ///
    /// [`with_root_certificates`]: Self::with_root_certificates
    /// [`with_root_certificates_pem`]: Self::with_root_certificates_pem
    pub fn with_tls_config(mut self, config: rustls::ClientConfig) -> Self {
        self.tls = TlsChoice::Config(Box::new(config));
        self
    }

    /// Keep-alive of HTTP/2 connections (gRPC's, and REST's when TLS
    /// chooses HTTP/2): a connection that has received nothing for
    /// `interval` while calls are in flight is pinged, and dropped if the
    /// ping is not answered within `timeout`. Defaults: 5 minutes (the most
    /// often servers built on grpc-core accept such pings) and 20 s. A
    /// server that answers pings with `GOAWAY ENHANCE_YOUR_CALM` is pinged
    /// half as often on later connections.
    ///
    /// Pings are the last resort: a call whose deadline passes with no
    /// reply already retires its connection (see [`Client`]).
    pub fn with_keep_alive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.keep_alive = KeepAlive { interval, timeout };
        self
    }

    /// Adds a tower layer of your own (metrics, rate limits, logging...)
    /// around every HTTP request the client sends, on either transport.
    ///
    /// The layer sees each attempt as it goes on the wire, below retries,
    /// credentials and deadlines: with its headers set (the bearer token
    /// among them, marked sensitive), and the response before the client
    /// reads it. Layers given first are outermost. Each transport builds its
    /// own stack from the layer (an `auto` client two), and each request
    /// goes through a clone of it, so state a layer keeps must be shared
    /// between clones. See [`crate::layer`] for what a layer's errors
    /// become; the crate docs have an example.
    ///
    /// A client given no layer sends exactly as before: no boxing and no
    /// indirection per request.
    pub fn with_layer<L>(mut self, layer: L) -> Self
    where
        L: tower_layer::Layer<HttpService> + Send + Sync + 'static,
        L::Service: tower_service::Service<http::Request<BoxBody>, Response = http::Response<BoxBody>>
            + Clone
            + Send
            + 'static,
        <L::Service as tower_service::Service<http::Request<BoxBody>>>::Error: Into<BoxError>,
        <L::Service as tower_service::Service<http::Request<BoxBody>>>::Future: Send + 'static,
    {
        self.layers.push(layer);
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
        // Credentials the client finds exchange their tokens through its proxies.
        let search = self
            .search
            .explicit_only(on_this_machine)
            .with_proxies(self.proxies.clone());
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
            .unwrap_or_else(|| default_transport(&self.endpoint));
        let proxy = self.proxies.route(&self.endpoint)?;
        let tls = self.tls.resolve()?;
        let (endpoint, limit) = (self.endpoint.as_str(), self.max_response_bytes);
        let layers = &self.layers;
        let grpc =
            |proxy| GrpcTransport::new(endpoint, limit, proxy, self.keep_alive, layers, &tls);
        let keep_alive = self.keep_alive;
        let rest = |proxy| {
            RestTransport::new(
                endpoint,
                routes.clone(),
                limit,
                proxy,
                keep_alive,
                layers,
                &tls,
            )
        };
        let transport: Box<dyn Transport> = match kind {
            TransportKind::Grpc => Box::new(grpc(proxy)?),
            TransportKind::Rest => Box::new(rest(proxy)?),
            TransportKind::Auto => Box::new(AutoTransport::new(grpc(proxy.clone())?, rest(proxy)?)),
        };
        let pipeline = Pipeline::new(Setup {
            transport,
            endpoint: self.endpoint,
            routes,
            credentials: self.credentials,
            search,
            defaults: self.defaults,
            quota_project,
            retry: self.retry,
        })?;
        Ok(Client {
            pipeline: Arc::new(pipeline),
            project: self.project.map(Arc::from),
        })
    }
}

impl Client {
    /// A client over a transport of the tests' own (no retries, anonymous).
    #[cfg(test)]
    pub(crate) fn over_transport(transport: Box<dyn Transport>) -> Client {
        let pipeline = Pipeline::new(Setup {
            transport,
            endpoint: "http://127.0.0.1:9".to_owned(),
            routes: Routes::empty(),
            credentials: Some(Credentials::anonymous()),
            search: CredentialSearch::new(),
            defaults: CallOptions::new().with_timeout(DEFAULT_TIMEOUT),
            quota_project: None,
            retry: RetryPolicy::never(),
        });
        Client {
            pipeline: Arc::new(pipeline.expect("options without headers are valid")),
            project: None,
        }
    }

    /// A builder with Earth Engine's endpoint, gRPC, a 60 s timeout and the
    /// default retry policy.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &str {
        self.pipeline.endpoint()
    }

    /// The project bare task ids belong to, if the builder was given one.
    pub fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }

    /// This client (sharing its connections and configuration) with bare
    /// task ids completed in `project`, as if built with
    /// [`ClientBuilder::with_project`].
    pub fn in_project(&self, project: impl Into<String>) -> Client {
        let project: String = project.into();
        Client {
            pipeline: self.pipeline.clone(),
            project: Some(project).filter(|p| !p.is_empty()).map(Arc::from),
        }
    }

    /// The full name the methods use for `id_or_name`: a bare task id (no
    /// `/`) in the client's project, `projects/{project}/operations/{id}`;
    /// a full name as given. Fails only for an empty name or a bare id when
    /// the client has no project; other names are checked against the
    /// routes when a call is sent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> eeops::Result<()> {
    /// let client = eeops::Client::builder()
    ///     .with_endpoint("http://127.0.0.1:9")
    ///     .with_project("my-project")
    ///     .build()?;
    /// assert_eq!(client.full_name("ABC")?, "projects/my-project/operations/ABC");
    /// assert_eq!(client.full_name("projects/p/operations/X")?, "projects/p/operations/X");
    /// # Ok(()) }
    /// ```
    pub fn full_name(&self, id_or_name: impl Into<String>) -> Result<String> {
        let name = self.qualify(id_or_name);
        if name.trim().is_empty() || !name.contains('/') {
            // The same words OperationName uses for these two cases.
            OperationName::resolve(&name, None)?;
        }
        Ok(name)
    }

    pub(crate) fn qualify(&self, id_or_name: impl Into<String>) -> String {
        qualify(id_or_name.into(), self.project())
    }

    /// Gets the latest state of an operation: its full name or, with
    /// [`ClientBuilder::with_project`], its bare task id.
    pub fn get(&self, name: impl Into<String>) -> GetOperation {
        GetOperation::new(
            self.pipeline.clone(),
            GetOperationRequest {
                name: self.qualify(name),
            },
        )
    }

    /// Lists the operations under `parent` (for Earth Engine,
    /// `projects/{project}`).
    pub fn list(&self, parent: impl Into<String>) -> ListOperations {
        ListOperations::new(
            self.pipeline.clone(),
            ListOperationsRequest {
                name: parent.into(),
                ..Default::default()
            },
        )
    }

    /// Lists the operations of the project given to
    /// [`ClientBuilder::with_project`] (`projects/{project}`); without one,
    /// the call fails when sent.
    pub fn list_in_project(&self) -> ListOperations {
        match self.project() {
            Some(project) => self.list(format!("projects/{project}")),
            None => self.list("").with_options(CallOptions::invalid(
                "no project to list: give the client one (ClientBuilder::with_project) or call list with a parent",
            )),
        }
    }

    /// Asks the server to cancel an operation (asynchronous, best effort);
    /// a full name or, with a project, a bare task id.
    pub fn cancel(&self, name: impl Into<String>) -> CancelOperation {
        CancelOperation::new(
            self.pipeline.clone(),
            CancelOperationRequest {
                name: self.qualify(name),
            },
        )
    }

    /// Forgets an operation's result; this does not cancel it. A full name
    /// or, with a project, a bare task id.
    pub fn delete(&self, name: impl Into<String>) -> DeleteOperation {
        DeleteOperation::new(
            self.pipeline.clone(),
            DeleteOperationRequest {
                name: self.qualify(name),
            },
        )
    }

    /// One server-side WaitOperation call: the server answers when the
    /// operation is done **or** when its wait ends, whichever is first, so
    /// the operation returned may still be running. Its wait is at most
    /// [`WaitOperation::set_server_wait`] and always ends inside the call's
    /// deadline ([`WaitOperation::with_timeout`]). To wait until the
    /// operation is done, use [`Client::until_done`].
    ///
    /// A full name or, with a project, a bare task id.
    pub fn wait_once(&self, name: impl Into<String>) -> WaitOperation {
        WaitOperation::new(
            self.pipeline.clone(),
            WaitOperationRequest {
                name: self.qualify(name),
                timeout: None,
            },
        )
    }

    /// The old name of [`Client::wait_once`], which may return before the
    /// operation is done.
    #[deprecated(
        since = "0.2.0",
        note = "one server-side wait that may return before the operation is done is now \
                `wait_once`; to wait until it is done, use `until_done`"
    )]
    pub fn wait(&self, name: impl Into<String>) -> WaitOperation {
        self.wait_once(name)
    }

    /// The credentials calls are made with: those given to the builder, or
    /// the ones the credential search finds (once, on first use).
    pub async fn credentials(&self) -> Result<Credentials> {
        self.pipeline.credentials(None).await.cloned()
    }
}

/// The transport a client gets when none is chosen: REST for Earth
/// Engine's endpoints, gRPC elsewhere.
fn default_transport(endpoint: &str) -> TransportKind {
    if crate::endpoint::is_earth_engine_endpoint(endpoint) {
        TransportKind::Rest
    } else {
        TransportKind::Grpc
    }
}

/// Whether the endpoint is a host other than this machine.
fn is_remote(endpoint: &str) -> bool {
    endpoint
        .parse::<http::Uri>()
        .ok()
        .and_then(|uri| uri.host().map(|host| !crate::host::is_loopback_host(host)))
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn builders_pick_rest_for_earth_engine_and_grpc_elsewhere() -> Result<()> {
        let built = |endpoint: &str| {
            Client::builder()
                .with_endpoint(endpoint)
                .with_credentials(Credentials::anonymous())
                .build()
                .map(|client| format!("{client:?}"))
        };
        assert!(built(EARTH_ENGINE_ENDPOINT)?.contains("RestTransport"));
        assert!(built("https://earthengine-highvolume.googleapis.com")?.contains("RestTransport"));
        assert!(built("http://127.0.0.1:1")?.contains("GrpcTransport"));
        let chosen = Client::builder()
            .with_transport(TransportKind::Grpc)
            .with_credentials(Credentials::anonymous())
            .build()?;
        assert!(format!("{chosen:?}").contains("GrpcTransport"));
        Ok(())
    }
}
