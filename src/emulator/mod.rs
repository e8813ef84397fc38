//! An in-process emulator of Earth Engine's `projects.operations`.
//!
//! It serves the `google.longrunning.Operations` gRPC service (with server
//! reflection) and the same API over HTTP/JSON (Earth Engine's REST
//! bindings under `v1`, `v1beta` and `v1alpha`, over HTTP/1.1 or HTTP/2) on
//! one port, from one state, with Earth Engine's semantics: names
//! `projects/{project}/operations/{id}` for any project; a lifecycle
//! PENDING → RUNNING → SUCCEEDED or FAILED over configurable durations;
//! cancel through CANCELLING to CANCELLED (`error.code = 1`); delete that
//! forgets; wait that blocks until done or its timeout; stable paging and
//! filters. Tests bind it to `127.0.0.1:0` and script operations with
//! [`OperationSpec`].
//!
//! Optionally it requires a Bearer token on every Operations call
//! ([`EmulatorBuilder::with_required_token`]) and records every request it
//! receives, credentials replaced by fingerprints, as JSON lines
//! ([`EmulatorBuilder::with_record_file`]).
//!
//! For reliability tests it injects faults into the Operations calls of
//! both transports: errors (with `RetryInfo`, or an HTTP status and
//! `Retry-After` over REST), latency and dropped connections, on every
//! Nth call or a seeded fraction of them ([`Fault`]); set at start
//! ([`EmulatorBuilder::with_fault`]) or while running, from the process
//! or over HTTP at `/_eeops/faults` ([`RunningEmulator::faults`]).
//!
//! ```
//! use eeops::emulator::{Emulator, OperationSpec};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> eeops::Result<()> {
//! let emulator = Emulator::builder().with_seed("demo", 12).start("127.0.0.1:0").await?;
//! // The emulator needs no credentials.
//! let client = eeops::Client::builder()
//!     .with_endpoint(emulator.endpoint())
//!     .with_credentials(eeops::Credentials::anonymous())
//!     .build()?;
//! let all = client.list("projects/demo").operations().try_collect().await?;
//! assert_eq!(all.len(), 12);
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::proto::earthengine::State;
use crate::proto::rpc::Code;

mod auth;
mod discovery;
mod faults;
mod filter;
mod grpc;
mod lifecycle;
mod record;
mod reply;
mod rest;
mod seed;
mod server;
mod spec;
mod state;
mod system_parameters;
mod trim;

use auth::RequiredToken;
pub use faults::{DEFAULT_FAULT_CODE, FAULT_DOMAIN, FAULT_REASON, Fault, FaultId, Faults};
use lifecycle::{Ending, Script, millis};
use record::Recorder;
use server::Limits;
pub use server::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_CONNECTIONS, DEFAULT_SHUTDOWN_GRACE,
};
pub use spec::OperationSpec;
use spec::RunTime;
pub use state::{DEFAULT_PAGE_SIZE, DEFAULT_WAIT, MAX_PAGE_SIZE};
use state::{Store, Timings};

/// Entry point: [`Emulator::builder`].
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the default timings and no operations.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Configures an emulator before it starts.
#[derive(Clone, Debug)]
#[must_use]
pub struct EmulatorBuilder {
    timings: Timings,
    seeds: Vec<(String, usize)>,
    seed_value: u64,
    required_token: Option<RequiredToken>,
    admin_token: Option<RequiredToken>,
    record_file: Option<PathBuf>,
    faults: Vec<Fault>,
    limits: Limits,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            timings: Timings {
                queue: Duration::from_millis(500),
                run: Duration::from_secs(5),
                cancel_latency: Duration::from_millis(500),
            },
            seeds: Vec::new(),
            seed_value: 2026,
            required_token: None,
            admin_token: None,
            record_file: None,
            faults: Vec::new(),
            limits: Limits::default(),
        }
    }
}

impl EmulatorBuilder {
    /// Creates `count` demo operations in `projects/{project}`: queued,
    /// finishing within seconds, running until cancelled, succeeded, failed
    /// and cancelled.
    pub fn with_seed(mut self, project: impl Into<String>, count: usize) -> Self {
        self.seeds.push((project.into(), count));
        self
    }

    /// Makes the demo data differ (the same value gives the same data).
    pub fn with_random_seed(mut self, seed: u64) -> Self {
        self.seed_value = seed;
        self
    }

    /// Default time an operation stays PENDING (500 ms).
    pub fn with_queue_time(mut self, queue: Duration) -> Self {
        self.timings.queue = queue;
        self
    }

    /// Default time an operation stays RUNNING (5 s); seeded tasks that
    /// finish soon run about this long.
    pub fn with_run_time(mut self, run: Duration) -> Self {
        self.timings.run = run;
        self
    }

    /// Time from a cancel request to CANCELLED (500 ms).
    pub fn with_cancel_latency(mut self, latency: Duration) -> Self {
        self.timings.cancel_latency = latency;
        self
    }

    /// Requires `authorization: Bearer {token}` (the scheme in any case,
    /// one space) on every Operations call, over gRPC and HTTP/JSON alike,
    /// and on the fault endpoint `/_eeops/faults` unless
    /// [`with_admin_token`](Self::with_admin_token) sets another; gRPC
    /// reflection, the discovery document and the algorithms list stay
    /// open. A call without it fails with UNAUTHENTICATED (HTTP 401 with
    /// `WWW-Authenticate: Bearer realm="eeops emulator"`) and an
    /// `ErrorInfo` whose reason is `CREDENTIALS_MISSING`,
    /// `CREDENTIALS_MALFORMED` or `ACCESS_TOKEN_INVALID`. The token must be
    /// visible ASCII without spaces, or [`start`](Self::start) fails.
    pub fn with_required_token(mut self, token: impl Into<String>) -> Self {
        self.required_token = Some(RequiredToken::new(token.into()));
        self
    }

    /// Requires `authorization: Bearer {token}` on the fault endpoint
    /// `/_eeops/faults` (401 without it, as for Operations calls), in place
    /// of the [required token](Self::with_required_token). Without either,
    /// the endpoint is open to anyone who reaches the port.
    pub fn with_admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(RequiredToken::new(token.into()));
        self
    }

    /// Appends one JSON line per request received, on either transport and
    /// whether or not it is served, to the file at `path` (created if
    /// needed), flushed before the request is handled:
    ///
    /// ```json
    /// {"time": "2026-01-02T03:04:05.678Z", "transport": "grpc",
    ///  "method": "/google.longrunning.Operations/GetOperation",
    ///  "path": "/google.longrunning.Operations/GetOperation",
    ///  "http_version": "HTTP/2",
    ///  "headers": {"authorization": "Bearer sha256:0123456789abcdef"}}
    /// ```
    ///
    /// `method` is the gRPC method for gRPC and the HTTP method for REST;
    /// `path` includes the query. Header names are lower case; a repeated
    /// header is an array.
    ///
    /// Values are redacted by allow-list, so that no credential is written
    /// whatever its name: header values are written in clear only for
    /// `accept`, `accept-encoding`, `connection`, `content-encoding`,
    /// `content-length`, `content-type`, `grpc-accept-encoding`,
    /// `grpc-encoding`, `grpc-timeout`, `host`, `te`, `transfer-encoding`,
    /// `user-agent`, `x-goog-api-client`, `x-goog-fieldmask`,
    /// `x-goog-request-params`, `x-goog-user-project`,
    /// `x-http-method-override` and `x-server-timeout`; an `authorization`
    /// (or `proxy-authorization`) value becomes `Bearer sha256:{first 16 hex
    /// digits of the token's SHA-256}`, or `<unparsable, sha256:…>` of the
    /// whole value when it is not Bearer; every other value becomes
    /// `sha256:…`. In the query, values are kept for the Operations API's
    /// fields (`filter`, `pageSize`, `pageToken`, `returnPartialSuccess`,
    /// under either spelling) and `alt`, `fields`, `prettyPrint`, `$.xgafv`,
    /// `upload_protocol`, `uploadType` and `version`; any other value
    /// becomes `sha256:…` of its decoded form (a parameter without a value,
    /// of its name).
    ///
    /// A record is bounded: a path, header name or value longer than 1 KiB
    /// is cut and ends with `…<truncated, N bytes>`, and headers beyond
    /// 16 KiB are left out, counted in `"headers_left_out": N`.
    ///
    /// The file is created with mode 0600 (owner only) and never opened
    /// through a symbolic link: a link at `path` makes [`start`](Self::start)
    /// fail, as does any path that cannot be opened for appending; a later
    /// write error is logged and the request still served. The latest
    /// records are also kept in memory, up to 16 MiB of them:
    /// [`RunningEmulator::records`].
    pub fn with_record_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.record_file = Some(path.into());
        self
    }

    /// Puts `fault` in force from the first call on, after those added
    /// before (ids 1, 2, … in that order). See [`Fault`] and
    /// [`RunningEmulator::faults`].
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Time a client has to send a request's headers over HTTP/1.1
    /// ([`DEFAULT_HEADER_READ_TIMEOUT`]); a kept-alive HTTP/1.1 connection
    /// that sends nothing for this long is closed too.
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// Time a client has to send a request's body once its headers have
    /// arrived ([`DEFAULT_BODY_READ_TIMEOUT`]), on either protocol; a body
    /// that trickles or stops fails the request then. Over HTTP/1.1 the
    /// connection is closed after the error reply; over HTTP/2 the stream is
    /// reset and the connection's other calls go on.
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_read_timeout = timeout;
        self
    }

    /// Closes a connection, on either protocol, once it has had no request
    /// in progress for this long ([`DEFAULT_IDLE_TIMEOUT`]); a client that
    /// connects and sends nothing, or never finishes its HTTP/2 handshake,
    /// is closed after this long.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// How many connections are served at once
    /// ([`DEFAULT_MAX_CONNECTIONS`]); further ones wait to be accepted until
    /// one closes.
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.limits.max_connections = max.max(1);
        self
    }

    /// How many HTTP/2 streams (gRPC calls) one connection may have in
    /// progress ([`DEFAULT_MAX_CONCURRENT_STREAMS`]); HTTP/2 clients queue
    /// the rest until one ends.
    pub fn with_max_concurrent_streams(mut self, max: u32) -> Self {
        self.limits.max_concurrent_streams = max.max(1);
        self
    }

    /// How long connections get to finish once shutdown begins
    /// ([`DEFAULT_SHUTDOWN_GRACE`]); those still open are then closed.
    /// Waits in progress are answered at once when shutdown begins.
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.limits.shutdown_grace = grace;
        self
    }

    /// Binds `addr` (such as `127.0.0.1:0`) and starts serving gRPC and
    /// HTTP/JSON on it in the background; the address is bound before this
    /// returns.
    pub async fn start(self, addr: &str) -> Result<RunningEmulator> {
        for token in [&self.required_token, &self.admin_token] {
            if let Some(problem) = token.as_ref().and_then(RequiredToken::problem) {
                return Err(Error::new(
                    Code::InvalidArgument,
                    format!("cannot require this token: {problem}"),
                ));
            }
        }
        let recorder = self
            .record_file
            .map(|path| Recorder::open(path).map(Arc::new))
            .transpose()?;
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            Error::new(Code::Unavailable, format!("cannot listen on {addr}: {e}")).with_source(e)
        })?;
        let local_addr = listener.local_addr().map_err(|e| {
            Error::new(
                Code::Internal,
                format!("cannot read the bound address: {e}"),
            )
        })?;
        let store = Arc::new(Store::new(self.timings));
        let faults = Faults::new();
        for fault in self.faults {
            faults.add(fault);
        }
        let handle = Handle {
            store: Arc::clone(&store),
        };
        for (project, count) in &self.seeds {
            for spec in seed::demo_specs(project, *count, self.timings.run, self.seed_value) {
                handle.create(spec)?;
            }
        }
        let reflection_error = |e: tonic_reflection::server::Error| {
            Error::new(Code::Internal, format!("cannot build gRPC reflection: {e}"))
        };
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(reflection_error)?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .build_v1alpha()
            .map_err(reflection_error)?;
        let mut grpc_routes = tonic::service::Routes::builder();
        grpc_routes
            .add_service(grpc::service(
                store.clone(),
                self.required_token.clone(),
                faults.clone(),
            ))
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);
        // gRPC requests go to their service by path, the fault endpoint and
        // the discovery routes by theirs; everything else falls through to
        // the REST front end, over HTTP/1.1 or HTTP/2.
        let admin_token = self.admin_token.or_else(|| self.required_token.clone());
        let routes = grpc_routes
            .routes()
            .into_axum_router()
            .merge(faults::admin::routes(faults.clone(), admin_token))
            .merge(discovery::routes());
        let mut router = rest::with_rest_fallback(
            routes,
            Arc::clone(&store),
            self.required_token,
            faults.clone(),
        );
        if let Some(recorder) = &recorder {
            // Outermost, so that every request is recorded before anything
            // (the token check included) answers it.
            let recorder = Arc::clone(recorder);
            router = router.layer(axum::middleware::map_request(
                move |request: axum::extract::Request| {
                    recorder.record(&request);
                    std::future::ready(request)
                },
            ));
        }
        let (stop, stopped) = watch::channel(false);
        // Served by hyper directly (HTTP/1.1 and HTTP/2 on one port), not
        // through tonic's server, which starts a timer for every call that
        // carries a deadline; the emulator reads deadlines where it waits.
        let server = server::serve(listener, router, self.limits, stopped);
        let task = tokio::spawn(server);
        tracing::info!(
            %local_addr,
            record_file = recorder.as_ref().map(|r| tracing::field::display(r.path().display())),
            "emulator listening"
        );
        Ok(RunningEmulator {
            local_addr,
            handle,
            recorder,
            faults,
            stop,
            task: Some(task),
        })
    }
}

/// A started emulator. Dropping it stops the server; [`shutdown`] also
/// waits for it and reports how it ended.
///
/// [`shutdown`]: RunningEmulator::shutdown
#[derive(Debug)]
pub struct RunningEmulator {
    local_addr: SocketAddr,
    handle: Handle,
    recorder: Option<Arc<Recorder>>,
    faults: Faults,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Scripting access to a running emulator's state; cheap to clone.
#[derive(Clone)]
pub struct Handle {
    store: Arc<Store>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Handle")
    }
}

impl Handle {
    /// Adds an operation and returns its full name.
    pub fn create(&self, spec: OperationSpec) -> Result<String> {
        let store = &self.store;
        let name = match &spec.id {
            Some(id) => spec.name_for(id),
            None => loop {
                let name = spec.name_for(&new_task_id());
                if !store.contains(&name) {
                    break name;
                }
            },
        };
        let now = store.now();
        let created = now - millis(spec.age);
        let script = Script {
            name,
            kind: spec.kind,
            description: spec.description,
            priority: spec.priority,
            destination_uris: spec.destination_uris,
            created,
            queue: millis(spec.queue_time.unwrap_or(store.timings.queue)),
            run: match spec.run_time {
                RunTime::Default => Some(millis(store.timings.run)),
                RunTime::Fixed(run) => Some(millis(run)),
                RunTime::UntilCancelled => None,
            },
            ending: match spec.failure {
                Some((code, message)) => Ending::Fail { code, message },
                None => Ending::Succeed,
            },
            cancel_requested: spec.cancelled_after.map(|after| created + millis(after)),
            cancel_latency: millis(store.timings.cancel_latency),
        };
        store.insert(script)
    }

    /// Removes an operation, as DeleteOperation does.
    pub fn delete(&self, name: &str) -> Result<()> {
        self.store.delete(name)
    }

    /// How many operations `projects/{project}` has.
    pub fn count(&self, project: &str) -> usize {
        self.store.count(project)
    }

    /// The full names in `projects/{project}`, newest first.
    pub fn names(&self, project: &str) -> Vec<String> {
        self.store.names(project)
    }

    /// Every operation of `projects/{project}` with its state now, newest
    /// first.
    pub fn states(&self, project: &str) -> Vec<(String, State)> {
        self.store.states(project)
    }

    /// How many WaitOperation calls (over either transport) are waiting on
    /// the server now; each stops counting as it answers.
    pub fn waits_in_progress(&self) -> usize {
        self.store.waits_in_progress()
    }
}

/// A fresh random task id, for operations created without one.
fn new_task_id() -> String {
    use std::hash::{BuildHasher, RandomState};
    let seed = RandomState::new().hash_one(std::time::SystemTime::now());
    seed::SplitMix::new(seed).task_id()
}

impl RunningEmulator {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many WaitOperation calls are waiting on the server now
    /// ([`Handle::waits_in_progress`]).
    pub fn waits_in_progress(&self) -> usize {
        self.handle.waits_in_progress()
    }

    /// The URL clients use: `http://{address}`, with the loopback address
    /// in place of an unspecified one (`0.0.0.0` or `::`, which name no
    /// host a client can connect to).
    pub fn endpoint(&self) -> String {
        let mut addr = self.local_addr;
        match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => addr.set_ip(Ipv4Addr::LOCALHOST.into()),
            IpAddr::V6(ip) if ip.is_unspecified() => addr.set_ip(Ipv6Addr::LOCALHOST.into()),
            _ => {}
        }
        format!("http://{addr}")
    }

    /// Scripting access to the state.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Adds an operation and returns its full name.
    pub fn create(&self, spec: OperationSpec) -> Result<String> {
        self.handle.create(spec)
    }

    /// The faults in force, to add, remove and list while the emulator
    /// runs; changes apply from the next call received.
    ///
    /// The same set is served over HTTP on the emulator's port, outside
    /// the Operations API, for emulators run as a separate process (`eeops
    /// serve`); it requires the [admin token](EmulatorBuilder::with_admin_token)
    /// or else the [required token](EmulatorBuilder::with_required_token)
    /// when either is set, and its requests are recorded like others:
    ///
    /// | request | reply |
    /// |---------|-------|
    /// | `GET /_eeops/faults` | `{"faults": [entry, …]}` in the order added |
    /// | `POST /_eeops/faults` with a fault as JSON ([`Fault::from_json`]) or its text form as a JSON string ([`Fault::parse`]) | the new entry |
    /// | `DELETE /_eeops/faults` | `{"removed": n}` |
    /// | `GET /_eeops/faults/{id}` | the entry |
    /// | `DELETE /_eeops/faults/{id}` | `{"removed": 1}` |
    ///
    /// An entry is `{"id": 1, "spec": "method=…", "fault": {…},
    /// "injected": 0}`: the id, the text and JSON forms, and how many calls
    /// the fault has hit. Errors have Google's error body: 400 for a bad
    /// fault (the message names the problem), 404 for an unknown id, 405
    /// for another method.
    ///
    /// ```
    /// use eeops::emulator::{Emulator, Fault};
    /// use eeops::Rpc;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> eeops::Result<()> {
    /// let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    /// let id = emulator.faults().add(Fault::on(Rpc::GetOperation).every(3));
    /// assert_eq!(emulator.faults().list().len(), 1);
    /// assert!(emulator.faults().remove(id));
    /// # Ok(()) }
    /// ```
    pub fn faults(&self) -> Faults {
        self.faults.clone()
    }

    /// The file requests are recorded to, if
    /// [`EmulatorBuilder::with_record_file`] set one.
    pub fn record_file(&self) -> Option<&Path> {
        self.recorder.as_deref().map(Recorder::path)
    }

    /// The records written to the record file, oldest first, as JSON
    /// values: the latest that fit in 16 MiB (as written), and none without
    /// a record file.
    /// A request's record is there before any reply to it is sent.
    pub fn records(&self) -> Vec<serde_json::Value> {
        self.recorder
            .as_deref()
            .map(Recorder::records)
            .unwrap_or_default()
    }

    fn signal_stop(&self) {
        self.handle.store.close();
        self.stop.send_replace(true);
    }

    /// Stops accepting connections, answers waits in progress with their
    /// operation's state, lets other calls in progress finish within the
    /// grace period ([`EmulatorBuilder::with_shutdown_grace`]), closes the
    /// connections still open after it and waits for the server to end. A
    /// panic in the server is passed on to the caller.
    pub async fn shutdown(mut self) -> Result<()> {
        self.signal_stop();
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Error::new(
                Code::Internal,
                format!("the emulator's server failed: {error}"),
            )),
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Err(join) => Err(Error::new(
                Code::Internal,
                format!("the emulator's server was aborted: {join}"),
            )),
        }
    }

    /// Serves until `signal` completes, then shuts down.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) -> Result<()> {
        signal.await;
        self.shutdown().await
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.signal_stop();
    }
}
