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
//! ## Feature flags
//!
//! - no feature (the default): the client alone, with no gRPC server, HTTP
//!   router or command-line code in the build;
//! - `emulator`: the in-process [`emulator`], a gRPC and REST server on one
//!   port for tests of code that calls eeops (the same server `eeops serve`
//!   runs). Enable it in `[dev-dependencies]`:
//!   `eeops = { version = "…", features = ["emulator"] }`.
//!
//! The `eeops` command-line tool is a package of its own in the same
//! repository, so that depending on the library compiles none of it.
//!
//! ## Calling from a tonic service
//!
//! A service built on tonic that calls eeops returns its errors with `?`:
//! [`Error`] converts into a `tonic::Status` with the same code, message and
//! `google.rpc.Status` details (tonic 0.14).
//!
//! ```
//! use eeops::longrunning::Operation;
//!
//! /// A handler of a tonic service of yours: `?` turns eeops' error into
//! /// the status the service answers with.
//! async fn task(
//!     client: &eeops::Client,
//!     name: String,
//! ) -> Result<tonic::Response<Operation>, tonic::Status> {
//!     let operation = client.get(name).await?;
//!     Ok(tonic::Response::new(operation))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> eeops::Result<()> {
//! let emulator = eeops::emulator::Emulator::builder().start("127.0.0.1:0").await?;
//! let client = eeops::Client::builder()
//!     .with_endpoint(emulator.endpoint())
//!     .with_credentials(eeops::Credentials::anonymous())
//!     .build()?;
//! let status = task(&client, "projects/p/operations/MISSING".into())
//!     .await
//!     .expect_err("no such operation");
//! assert_eq!(status.code(), tonic::Code::NotFound);
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
pub mod conformance;
pub mod duration;
mod endpoint;
mod error;
mod host;
mod http;
mod http_error;
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
