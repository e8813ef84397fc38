//! # eeops
//!
//! Google's long-running operations (`google.longrunning.Operations`: get,
//! list, cancel, delete, wait), with Earth Engine's `projects.operations`
//! (export and ingestion tasks) as the first-class target.
//!
//! One [`Client`] sits over a private transport, adds deadlines, retries and
//! pagination as a stream, and decodes Earth Engine's task metadata. An
//! in-process [`emulator`] serves the same API on loopback, so everything
//! here runs without credentials:
//!
//! ```
//! use eeops::{Client, earthengine::State};
//! use eeops::emulator::{Emulator, OperationSpec};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> eeops::Result<()> {
//! let emulator = Emulator::builder().start("127.0.0.1:0").await?;
//! let name = emulator.create(
//!     OperationSpec::new("my-project")
//!         .with_type("EXPORT_IMAGE")
//!         .with_run_time(Duration::from_millis(200)),
//! )?;
//!
//! // The emulator needs no credentials.
//! let client = Client::builder()
//!     .with_endpoint(emulator.endpoint())
//!     .with_credentials(eeops::Credentials::anonymous())
//!     .build()?;
//!
//! // Every operation of the project, page after page.
//! let mut all = client.list("projects/my-project").operations();
//! while let Some(operation) = all.next().await {
//!     let operation = operation?;
//!     println!("{} {}", operation.id(), operation.state());
//! }
//!
//! // Wait until the task is done: server-side waits where the server has
//! // them, polls where not; DEADLINE_EXCEEDED if 30 s pass first.
//! let done = client.until_done(&name).with_timeout(Duration::from_secs(30)).await?;
//! assert!(done.done);
//! assert_eq!(done.state(), State::Succeeded);
//!
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Errors are one type, [`Error`], with the canonical gRPC [`rpc::Code`], the
//! server's message, the decoded `google.rpc.Status` details and what the
//! client was doing.
//!
//! Names: a client given a project
//! ([`ClientBuilder::with_project`]) takes bare task ids in every method;
//! [`OperationName`] parses and prints full names. Waiting:
//! [`Client::until_done`] returns when the operation is done (or its
//! timeout passes, as an error); [`Client::wait_once`] is one server-side
//! wait, which may return an operation still running.
//!
//! ## Feature flags
//!
//! - no feature (the default): the client alone, with no gRPC server, HTTP
//!   router or command-line code in the build; it includes the conversion
//!   of [`Error`] into `tonic::Status` and back (tonic is the gRPC stack
//!   either way);
//! - `emulator`: the in-process [`emulator`], a gRPC and REST server on one
//!   port for tests of code that calls eeops (the same server `eeops serve`
//!   runs). Enable it in `[dev-dependencies]`:
//!   `eeops = { version = "…", features = ["emulator"] }`. On docs.rs,
//!   items that need it are marked so.
//!
//! The `eeops` command-line tool is a package of its own in the same
//! repository, so that depending on the library compiles none of it.
//!
//! ## Testing your code
//!
//! Code that takes a [`Client`] is tested against the [`emulator`]: a real
//! server on loopback speaking both transports, started in the test, with
//! no credentials and no network. Script the operations your code will
//! meet ([`emulator::OperationSpec`]: id, type, description, queue and run
//! times, failure, cancellation) and the faults it must survive
//! ([`emulator::Fault`]: a code on every n-th call of an RPC, latency, a
//! dropped connection), then point the client at
//! [`endpoint()`](emulator::RunningEmulator::endpoint):
//!
//! ```
//! use std::time::Duration;
//! use eeops::emulator::{Emulator, Fault, OperationSpec};
//! use eeops::{Client, Credentials, Rpc, earthengine::State, rpc::Code};
//!
//! /// The code under test: how many of the project's tasks failed.
//! async fn count_failed(client: &Client) -> eeops::Result<usize> {
//!     let mut failed = 0;
//!     let mut all = client.list_in_project().operations();
//!     while let Some(task) = all.next().await {
//!         failed += usize::from(task?.state() == State::Failed);
//!     }
//!     Ok(failed)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> eeops::Result<()> {
//! let emulator = Emulator::builder().start("127.0.0.1:0").await?;
//! emulator.create(OperationSpec::new("p").with_run_time(Duration::ZERO).with_queue_time(Duration::ZERO))?;
//! emulator.create(
//!     OperationSpec::new("p")
//!         .with_queue_time(Duration::ZERO)
//!         .with_run_time(Duration::ZERO)
//!         .failing_with(Code::Internal, "the export broke"),
//! )?;
//! // Every second list call fails with UNAVAILABLE: the client retries it.
//! emulator.faults().add(Fault::on(Rpc::ListOperations).every(2).with_code(Code::Unavailable));
//!
//! let client = Client::builder()
//!     .with_endpoint(emulator.endpoint())
//!     .with_credentials(Credentials::anonymous())
//!     .with_project("p")
//!     .build()?;
//! assert_eq!(count_failed(&client).await?, 1);
//! assert_eq!(count_failed(&client).await?, 1);
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! The emulator records what it received
//! ([`with_record_file`](emulator::EmulatorBuilder::with_record_file)),
//! can require a token
//! ([`with_required_token`](emulator::EmulatorBuilder::with_required_token)),
//! and runs as a process too (`eeops serve`) for code in other languages.
//!
//! ## Calling from a tonic service
//!
//! A service built on tonic that calls eeops returns its errors with `?`:
//! [`Error`] converts into a `tonic::Status` with the same code, message and
//! `google.rpc.Status` details (in `grpc-status-details-bin`, as gRPC servers
//! send them), and a `tonic::Status` converts back into an [`Error`] with
//! its details decoded (for a service that calls others, or for its
//! tests, as below).
//!
//! ```
//! use std::time::Duration;
//! use eeops::longrunning::Operation;
//! use eeops::emulator::{Emulator, Fault};
//! use eeops::{Detail, Error, RetryPolicy, Rpc, rpc::Code};
//!
//! /// A handler of a tonic service of yours: `?` turns eeops' error into
//! /// the status the service answers with.
//! async fn task(
//!     client: &eeops::Client,
//!     id: String,
//! ) -> Result<tonic::Response<Operation>, tonic::Status> {
//!     let operation = client.get(id).await?;
//!     Ok(tonic::Response::new(operation))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> eeops::Result<()> {
//! let emulator = Emulator::builder().start("127.0.0.1:0").await?;
//! let client = eeops::Client::builder()
//!     .with_endpoint(emulator.endpoint())
//!     .with_credentials(eeops::Credentials::anonymous())
//!     .with_project("p")
//!     .with_retry_policy(RetryPolicy::never())
//!     .build()?;
//! let status = task(&client, "MISSING".into()).await.expect_err("no such operation");
//! assert_eq!(status.code(), tonic::Code::NotFound);
//!
//! // The details the server sent reach the service's caller.
//! emulator.faults().add(
//!     Fault::on(Rpc::GetOperation)
//!         .with_code(Code::ResourceExhausted)
//!         .with_retry_delay(Duration::from_secs(3)),
//! );
//! let status = task(&client, "ANY".into()).await.expect_err("a fault");
//! assert_eq!(status.code(), tonic::Code::ResourceExhausted);
//! let seen = Error::from(status);
//! assert_eq!(seen.retry_delay(), Some(Duration::from_secs(3)));
//! assert!(seen.details().iter().any(|d| matches!(d, Detail::ErrorInfo(_))));
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! ## Proxies and TLS
//!
//! Connections follow curl's proxy variables (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`) unless told otherwise:
//! [`with_proxy`](ClientBuilder::with_proxy) names one proxy,
//! [`without_proxy`](ClientBuilder::without_proxy) connects directly, and
//! [`with_proxies`](ClientBuilder::with_proxies) takes [`Proxies`] built
//! from variables of your own. Every connection through a proxy is a
//! `CONNECT` tunnel, so TLS stays end to end.
//!
//! `https://` endpoints are verified against the system's root certificates
//! (which `SSL_CERT_FILE` replaces) unless the builder is given others, for
//! both transports alike:
//! [`with_root_certificates_pem`](ClientBuilder::with_root_certificates_pem)
//! or [`with_root_certificates`](ClientBuilder::with_root_certificates) to
//! trust a private authority only, or
//! [`with_tls_config`](ClientBuilder::with_tls_config) for a whole
//! [`rustls::ClientConfig`] (client certificates, versions, provider).
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A deployment behind a private authority, reached through a proxy.
//! let authority = std::fs::read("/etc/ssl/private-ca.pem")?;
//! let client = eeops::Client::builder()
//!     .with_endpoint("https://operations.internal.example")
//!     .with_proxy("http://proxy.internal.example:3128")
//!     .with_root_certificates_pem(authority)
//!     .build()?;
//! let task = client.get("projects/p/operations/ABC").await?;
//! # let _ = task;
//! # Ok(()) }
//! ```
//!
//! A client of an emulator on this machine connects directly whatever the
//! environment says, and needs no certificates:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> eeops::Result<()> {
//! let emulator = eeops::emulator::Emulator::builder().start("127.0.0.1:0").await?;
//! let client = eeops::Client::builder()
//!     .with_endpoint(emulator.endpoint())
//!     .with_credentials(eeops::Credentials::anonymous())
//!     .without_proxy()
//!     .build()?;
//! client.list("projects/p").send().await?;
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! ## Tracing
//!
//! Every call is a [`tracing`](https://docs.rs/tracing) span named after
//! its RPC (`google.longrunning.Operations/GetOperation`), and every attempt
//! (each time a request goes out, re-sends included) a span of the same
//! name inside it. Both are at level INFO, with OpenTelemetry's attribute
//! names for RPC client spans, so that `tracing-opentelemetry` exports them
//! as they are:
//!
//! - `otel.kind` (`client`), `rpc.system` (`grpc` or `http`),
//!   `rpc.service` (`google.longrunning.Operations`), `rpc.method`,
//!   `server.address` and `server.port`;
//! - on a call: `eeops.resource` (the operation or parent named),
//!   `eeops.attempts`, and how it ended: `eeops.code` (`OK`, `NOT_FOUND`,
//!   ...) and, on failure, `error.type` and `otel.status_code` (`ERROR`);
//! - on an attempt: `eeops.attempt` (from 1), `eeops.code`, and over gRPC
//!   `rpc.grpc.status_code`, over REST `http.request.method`, `url.path`
//!   and `http.response.status_code`.
//!
//! Events say why a call took longer than one round trip: `retrying` (with
//! `next_attempt`, `delay_ms` and the `reason`), `fetched an access token`
//! (its `source`, never the token), `the server refused the access token`,
//! an `auto` client `falling back to HTTP/JSON` (and why), and `retiring a
//! connection` (and why). No span or event records a header, a token, a
//! query string, an API key or a proxy's credentials.
//!
//! ```
//! use tracing_subscriber::fmt::format::FmtSpan;
//! use tracing_subscriber::layer::SubscriberExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> eeops::Result<()> {
//! // Any subscriber works; this one prints each span as it closes, with its
//! // attributes and time.
//! let subscriber = tracing_subscriber::registry().with(
//!     tracing_subscriber::fmt::layer().with_span_events(FmtSpan::CLOSE),
//! );
//! let _installed = tracing::subscriber::set_default(subscriber);
//!
//! let emulator = eeops::emulator::Emulator::builder().start("127.0.0.1:0").await?;
//! let name = emulator.create(eeops::emulator::OperationSpec::new("my-project"))?;
//! let client = eeops::Client::builder()
//!     .with_endpoint(emulator.endpoint())
//!     .with_credentials(eeops::Credentials::anonymous())
//!     .build()?;
//! // Prints a line for the attempt and one for the call, both named
//! // google.longrunning.Operations/GetOperation, with rpc.system=grpc.
//! client.get(&name).await?;
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! ## Your own tower layers
//!
//! [`ClientBuilder::with_layer`] puts a tower layer of yours (metrics, rate
//! limits, logging...) around the HTTP requests the client sends, over
//! either transport. A layer wraps an [`layer::HttpService`] and sees each
//! attempt as it goes on the wire: below retries, credentials and
//! deadlines, with its headers set. Over gRPC that is the call's HTTP/2
//! request (`POST /google.longrunning.Operations/GetOperation`), over REST
//! the HTTP/JSON request. A client without layers sends as if this did not
//! exist. Any `tower::Layer` fits: `tower::Layer` is `tower_layer::Layer`.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::task::{Context, Poll};
//!
//! use eeops::layer::{BoxBody, BoxError, HttpService};
//! use tower_service::Service;
//!
//! /// Counts requests and tags each with a header.
//! #[derive(Clone)]
//! struct Counted {
//!     inner: HttpService,
//!     count: Arc<AtomicUsize>,
//! }
//!
//! impl Service<http::Request<BoxBody>> for Counted {
//!     type Response = http::Response<BoxBody>;
//!     type Error = BoxError;
//!     type Future = <HttpService as Service<http::Request<BoxBody>>>::Future;
//!
//!     fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
//!         self.inner.poll_ready(context)
//!     }
//!
//!     fn call(&mut self, mut request: http::Request<BoxBody>) -> Self::Future {
//!         self.count.fetch_add(1, Ordering::Relaxed);
//!         let tag = http::HeaderValue::from_static("counted");
//!         request.headers_mut().insert("x-my-tag", tag);
//!         self.inner.call(request)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> eeops::Result<()> {
//! let emulator = eeops::emulator::Emulator::builder().start("127.0.0.1:0").await?;
//! let name = emulator.create(eeops::emulator::OperationSpec::new("my-project"))?;
//! let count = Arc::new(AtomicUsize::new(0));
//! let counted = count.clone();
//! let client = eeops::Client::builder()
//!     .with_endpoint(emulator.endpoint())
//!     .with_credentials(eeops::Credentials::anonymous())
//!     .with_layer(tower_layer::layer_fn(move |inner| Counted {
//!         inner,
//!         count: counted.clone(),
//!     }))
//!     .build()?;
//! client.get(&name).await?;
//! client.list("projects/my-project").send().await?;
//! assert_eq!(count.load(Ordering::Relaxed), 2);
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! A layer that fails a request (a rate limit that sheds load, say) ends
//! the attempt with `UNAVAILABLE` and a message saying a request layer
//! failed it, retried like other transient failures; one that fails with
//! an [`Error`] ends it with that error. Errors from the service a layer
//! wraps should pass through unchanged, so that the client still tells a
//! request that never left (sent again) from one the server may have seen.
//! Each request goes through a clone of the stack, as with tonic's and
//! hyper's services: state a layer keeps is shared between clones through
//! an `Arc` (as `tower`'s `ConcurrencyLimit` does), and a layer that keeps
//! it per instance (`RateLimit`) goes behind a `Buffer`. A layer that
//! spawns the request onto another task (`Buffer`) takes the call's
//! deadline with it only as the client's own timer: a gRPC connection that
//! went silent is then noticed by keep-alive pings rather than at once.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod call;
mod client;
// Test tooling shared with the integration tests, the fuzz targets and the
// conformance example; not part of the API.
#[doc(hidden)]
pub mod conformance;
pub mod duration;
mod endpoint;
mod error;
mod host;
mod http;
mod http_error;
#[doc(hidden)]
pub mod json;
pub mod layer;
mod lro;
mod metadata_numbering;
mod methods;
mod names;
mod operation;
mod options;
mod pager;
mod percent;
mod proto;
mod proxy;
mod requests;
mod retry;
mod routes;
mod state;
mod task;
pub mod task_filter;
mod telemetry;
mod tonic_status;
mod transport;
mod user_agent;

#[cfg(feature = "emulator")]
#[cfg_attr(docsrs, doc(cfg(feature = "emulator")))]
pub mod emulator;

#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;

pub use auth::{
    AccessToken, CredentialSearch, Credentials, GOOGLE_TOKEN_URI, SCOPES, TokenSource,
    TokenSourceError,
};
pub use client::{
    Client, ClientBuilder, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, EARTH_ENGINE_ENDPOINT,
    TransportKind,
};
pub use endpoint::is_earth_engine_endpoint;
pub use error::{Detail, Error, Result};
pub use lro::{Change, PollingPolicy, UntilDone, Watch, WatchStream};
pub use metadata_numbering::UNVERIFIED_METADATA_PREFIX;
pub use names::OperationName;
pub use operation::{Metadata, Outcome, operation_id};
pub use options::CallOptions;
pub use pager::{OperationStream, PageStream};
pub use proto::{EARTH_ENGINE_METADATA_TYPE_URLS, earthengine, longrunning, rpc};
pub use proxy::Proxies;
pub use requests::{CancelOperation, DeleteOperation, GetOperation, ListOperations, WaitOperation};
pub use retry::RetryPolicy;
pub use routes::{ApiVersion, Routes, Rpc};
pub use task::Task;
pub use task_filter::TaskFilter;
pub use transport::rest::HttpPreview;

/// The TLS library whose types [`ClientBuilder::with_tls_config`] and
/// [`ClientBuilder::with_root_certificates`] take, at the version this
/// crate builds with.
pub use rustls;

/// The README's examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
