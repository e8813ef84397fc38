//! The emulator's listener: it accepts connections up to a limit, serves
//! HTTP/1.1 and HTTP/2 on each with hyper, closes connections that send
//! their headers too slowly or sit idle, fails requests whose body does not
//! arrive in time, and on shutdown gives open
//! connections a grace period before closing them, so that no client can
//! keep the server running.
//!
//! It uses hyper directly rather than `axum::serve`, which has no timeouts,
//! no connection limit and waits for every connection to end on shutdown.

use std::convert::Infallible;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tonic::codegen::Service;

use super::trim::Load;

/// Limits that keep clients from holding the server's resources.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Time a client has to send a request's headers over HTTP/1.1, from
    /// the first byte it is expected (this also closes a kept-alive
    /// HTTP/1.1 connection that sends nothing for this long).
    pub(crate) header_read_timeout: Duration,
    /// Time a client has to send a request's whole body once its headers
    /// have arrived; then the request fails, and over HTTP/1.1 the
    /// connection closes.
    pub(crate) body_read_timeout: Duration,
    /// A connection with no request in progress for this long is closed.
    pub(crate) idle_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub(crate) max_connections: usize,
    /// HTTP/2 streams (gRPC calls) in progress at once on one connection;
    /// clients queue the rest.
    pub(crate) max_concurrent_streams: u32,
    /// Time open connections get to finish after shutdown begins before
    /// they are closed.
    pub(crate) shutdown_grace: Duration,
}

/// Time a client has to send an HTTP/1.1 request's headers, by default ([`EmulatorBuilder::with_header_read_timeout`](super::EmulatorBuilder::with_header_read_timeout)).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client has to send a request's body after its headers, by default ([`EmulatorBuilder::with_body_read_timeout`](super::EmulatorBuilder::with_body_read_timeout)).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Time a connection may stay with no request in progress, by default ([`EmulatorBuilder::with_idle_timeout`](super::EmulatorBuilder::with_idle_timeout)).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections served at once, by default ([`EmulatorBuilder::with_max_connections`](super::EmulatorBuilder::with_max_connections)).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// HTTP/2 streams in progress per connection, by default ([`EmulatorBuilder::with_max_concurrent_streams`](super::EmulatorBuilder::with_max_concurrent_streams)).
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 1000;
/// Time connections get to finish once shutdown begins, by default ([`EmulatorBuilder::with_shutdown_grace`](super::EmulatorBuilder::with_shutdown_grace)).
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// Serves `router` on `listener` until `stop` turns true, then closes the
/// listener, asks every connection to finish (HTTP/2 GOAWAY, HTTP/1.1
/// `connection: close`) and closes those still open after the grace period.
pub(crate) async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        // A client that opens streams before it has read the limit gets
        // some refused; that is not misbehaviour worth closing it for.
        .max_local_error_reset_streams(None);
    let builder = Arc::new(builder);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let load = Arc::new(Load::default());
    let trimmer = tokio::spawn(Arc::clone(&load).trim_when_quiet());
    // True while a connection waits for a slot: idle connections then close
    // to make room, as a client's pool of kept-alive connections would
    // otherwise hold every slot.
    let (shed, shedding) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        while let Some(ended) = connections.try_join_next() {
            if let Err(error) = ended {
                tracing::error!(%error, "a connection's task failed");
            }
        }
        tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            accepted = accept_within_limit(&listener, &permits, &shed) => {
                let (stream, permit) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "cannot accept a connection");
                        // Out of file descriptors and the like: give the
                        // system a moment instead of spinning.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                connections.spawn(connection(
                    stream,
                    Arc::clone(&builder),
                    router.clone(),
                    limits,
                    OpenConnection::new(Arc::clone(&load), permit),
                    shedding.clone(),
                    stop.clone(),
                ));
            }
        }
    }
    drop(listener);
    let open = connections.len();
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!(
            open,
            still_open = connections.len(),
            "closing the connections still open after the grace period"
        );
        connections.shutdown().await;
    }
    trimmer.abort();
    Ok(())
}

/// Completes when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Accepts a connection, then waits for a free slot for it, asking idle
/// connections to close (through `shed`) while there is none.
async fn accept_within_limit(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
    shed: &watch::Sender<bool>,
) -> io::Result<(TcpStream, OwnedSemaphorePermit)> {
    let (stream, peer) = listener.accept().await?;
    let permit = match Arc::clone(permits).try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => {
            tracing::debug!(%peer, "waiting for a free connection slot");
            shed.send_replace(true);
            let permit = Arc::clone(permits).acquire_owned().await;
            shed.send_replace(false);
            match permit {
                Ok(permit) => permit,
                // The semaphore is never closed.
                Err(_) => return std::future::pending().await,
            }
        }
    };
    tracing::debug!(%peer, "connection accepted");
    // Small replies (a trailer after a header) must not wait for the peer's
    // delayed ACK.
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot disable Nagle's algorithm");
    }
    Ok((stream, permit))
}

/// Serves one connection until it ends, idles for the idle timeout (or at
/// all while `shedding`), or shutdown asks it to finish; holds its slot
/// (`open`) until then. A request body must arrive within the body
/// timeout.
async fn connection(
    stream: TcpStream,
    builder: Arc<auto::Builder<TokioExecutor>>,
    router: axum::Router,
    limits: Limits,
    open: OpenConnection,
    mut shedding: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let load = Arc::clone(&open.load);
    let peer = stream.peer_addr().ok();
    let (in_progress, mut activity) = watch::channel(0usize);
    let in_progress = Arc::new(in_progress);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let counted = InProgress::start(Arc::clone(&in_progress), Arc::clone(&load));
        let mut router = router.clone();
        async move {
            let request =
                request.map(|body| Body::new(TimedBody::new(body, limits.body_read_timeout)));
            std::future::poll_fn(|cx| Service::<Request<Body>>::poll_ready(&mut router, cx))
                .await?;
            let response = router.call(request).await?;
            // The request counts until its reply's body is sent or dropped.
            Ok::<_, Infallible>(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _ = &counted;
                    frame
                }))
            }))
        }
    });
    let mut served = pin!(builder.serve_connection_with_upgrades(TokioIo::new(stream), service));
    tokio::select! {
        ended = served.as_mut() => {
            match ended {
                Ok(()) => tracing::debug!(?peer, "connection closed"),
                Err(error) => tracing::debug!(?peer, %error, "connection closed on an error"),
            }
            return;
        }
        () = idle(&mut activity, limits.idle_timeout, &mut shedding) => {
            tracing::debug!(?peer, "connection closed: idle");
            return;
        }
        () = stopped(&mut stop) => {}
    }
    served.as_mut().graceful_shutdown();
    // The listener closes whatever is left after the grace period.
    let _ = served.await;
    tracing::debug!(?peer, "connection closed for shutdown");
}

/// Completes once no request has been in progress for `timeout`, or at
/// once when none is in progress while `shedding`.
async fn idle(
    activity: &mut watch::Receiver<usize>,
    timeout: Duration,
    shedding: &mut watch::Receiver<bool>,
) {
    loop {
        if activity.wait_for(|count| *count == 0).await.is_err() {
            return std::future::pending().await;
        }
        tokio::select! {
            () = tokio::time::sleep(timeout) => return,
            changed = activity.changed() => {
                if changed.is_err() {
                    return std::future::pending().await;
                }
            }
            shed = async { shedding.wait_for(|shed| *shed).await.is_ok() } => {
                if !shed {
                    return std::future::pending().await;
                }
                let none_in_progress = *activity.borrow() == 0;
                if none_in_progress {
                    return;
                }
            }
        }
    }
}

/// One request in progress on a connection, counted there and in the
/// server's load until dropped.
struct InProgress(Arc<watch::Sender<usize>>, Arc<Load>);

impl InProgress {
    fn start(count: Arc<watch::Sender<usize>>, load: Arc<Load>) -> Self {
        count.send_modify(|count| *count += 1);
        load.request_started();
        Self(count, load)
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.send_modify(|count| *count -= 1);
        self.1.request_ended();
    }
}

/// A connection being served: it holds its slot, and counts in the
/// server's load, until dropped (after the connection's own state, as an
/// argument of the function that serves it).
struct OpenConnection {
    load: Arc<Load>,
    _slot: OwnedSemaphorePermit,
}

impl OpenConnection {
    fn new(load: Arc<Load>, slot: OwnedSemaphorePermit) -> Self {
        load.connection_opened();
        Self { load, _slot: slot }
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.load.connection_closed();
    }
}

/// A request body that fails once its time is up: a client that sends its
/// headers and then trickles the body, or stops, does not hold the request
/// (and its connection's slot) for longer. The handler sees a body error;
/// hyper then resets the HTTP/2 stream, or closes the HTTP/1.1 connection,
/// whose unread body leaves it unusable.
struct TimedBody {
    inner: Incoming,
    deadline: tokio::time::Instant,
    limit: Duration,
    /// Made on the first wait only: most bodies come with their headers.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl TimedBody {
    fn new(inner: Incoming, limit: Duration) -> Self {
        Self {
            inner,
            deadline: tokio::time::Instant::now() + limit,
            limit,
            timer: None,
        }
    }
}

/// The error a [`TimedBody`] fails with.
#[derive(Debug)]
struct BodyTimedOut(Duration);

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} ms of its headers",
            self.0.as_millis()
        )
    }
}

impl std::error::Error for BodyTimedOut {}

impl hyper::body::Body for TimedBody {
    type Data = bytes::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimedOut(this.limit).into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
