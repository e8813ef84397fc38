//! The HTTP client of the REST transport and of the token exchange: pooled
//! connections, each driven by the call that uses it.
//!
//! An HTTP/1.1 connection serves one call at a time, and that call's task
//! writes the request and reads the reply itself: no connection task
//! stands between them, so an exchange wakes no other task or thread.
//! Between calls an idle connection rests in the pool; one the server
//! closed meanwhile (or idle for longer than servers keep them) is found
//! out when it is next taken, before anything is written to it. A call
//! that ends before its reply was read whole closes its connection, which
//! cannot carry another request.
//!
//! Over TLS, a server that picks HTTP/2 by ALPN gets one connection that
//! every call shares, each opening its own stream in its own task too
//! (see `h2_stream`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Request, Response, Uri};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::Connection as _;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tower_service::Service;

use super::h2_connection::{self, Ended, Handle, KeepAlive, PingSchedule};
use super::h2_stream::{self, Failed};
use crate::proxy::ProxyConnector;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connection's byte stream: TCP, perhaps through a proxy's tunnel,
/// perhaps with TLS.
type Stream = MaybeHttpsStream<TokioIo<TcpStream>>;

/// How long an idle connection is kept: less than servers commonly keep
/// one open, so that a request rarely meets a connection being closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A request on its way, as [`HttpClient::request`] returns it.
pub(crate) type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<ReplyBody>, SendError>> + Send>>;

/// A pooled client sending bodies of type `B`. Cheap to clone.
pub(crate) struct HttpClient<B: Body + 'static = http_body_util::Full<Bytes>> {
    inner: Arc<Inner<B>>,
}

impl<B: Body + 'static> Clone for HttpClient<B> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<B: Body + 'static> {
    connector: HttpsConnector<ProxyConnector>,
    /// Whether HTTP/1.1 requests without `Host` get one from their URI.
    adds_host: bool,
    /// Idle HTTP/1.1 connections, the most recently used last.
    idle: Mutex<Vec<Idle<B>>>,
    /// The shared HTTP/2 connection of a destination that chose HTTP/2.
    shared: Mutex<Option<(Destination, Handle)>>,
    /// How HTTP/2 connections are pinged, one after another.
    pings: PingSchedule,
}

/// Where a connection goes: scheme and authority (not to be confused with
/// [`super::Origin`], an endpoint URL taken apart).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Destination(Scheme, Authority);

impl Destination {
    fn of(uri: &Uri) -> Option<Self> {
        Some(Self(uri.scheme()?.clone(), uri.authority()?.clone()))
    }
}

/// An HTTP/1.1 connection and its handle.
struct H1<B: Body + 'static> {
    sender: http1::SendRequest<B>,
    connection: Pin<Box<http1::Connection<Stream, B>>>,
    /// Whether the connection has ended.
    ended: bool,
    destination: Destination,
}

impl<B> H1<B>
where
    B: Body + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    /// Moves the connection's bytes as far as they go now.
    fn drive(&mut self, cx: &mut Context<'_>) {
        if !self.ended && self.connection.as_mut().poll(cx).is_ready() {
            self.ended = true;
        }
    }

    fn is_usable(&self) -> bool {
        !self.ended && !self.sender.is_closed()
    }
}

/// A connection resting in the pool.
struct Idle<B: Body + 'static> {
    connection: H1<B>,
    since: Instant,
}

/// Why a request got no response.
#[derive(Debug)]
pub(crate) struct SendError {
    kind: SendErrorKind,
    source: BoxError,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SendErrorKind {
    /// No connection could be made.
    Connect,
    /// The shared connection closed before the request's stream opened.
    NotSent,
    /// The exchange broke off.
    Exchange,
}

impl SendError {
    /// Whether nothing of the request was sent: no connection could be
    /// made, or it closed before the request was handed to it.
    pub(crate) fn is_never_sent(&self) -> bool {
        self.kind != SendErrorKind::Exchange
    }

    fn new(kind: SendErrorKind, source: impl Into<BoxError>) -> Self {
        Self {
            kind,
            source: source.into(),
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.kind {
            SendErrorKind::Connect => "no connection could be made",
            SendErrorKind::NotSent => "the connection closed before the request was sent",
            SendErrorKind::Exchange => "the exchange broke off",
        })
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// An error while reading a reply's body, told as the error it holds. A
/// type of its own rather than a boxed error, which would keep the
/// compiler from seeing that a future reading the body is `Send`.
#[derive(Debug)]
pub(crate) struct BodyError(pub(crate) BoxError);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl<B> HttpClient<B>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    pub(crate) fn new(
        connector: HttpsConnector<ProxyConnector>,
        adds_host: bool,
        keep_alive: KeepAlive,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                connector,
                adds_host,
                idle: Mutex::new(Vec::new()),
                shared: Mutex::new(None),
                pings: PingSchedule::new(keep_alive),
            }),
        }
    }

    /// Sends `request` (its URI absolute) and returns the response, its
    /// body to be read. A call's `deadline`, when given, lets a shared
    /// HTTP/2 connection that gave it no reply by then be replaced.
    pub(crate) fn request(&self, request: Request<B>, deadline: Option<Instant>) -> ResponseFuture {
        let inner = self.inner.clone();
        Box::pin(async move { inner.send(request, deadline).await })
    }
}

impl<B> Inner<B>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    async fn send(
        self: Arc<Self>,
        request: Request<B>,
        deadline: Option<Instant>,
    ) -> Result<Response<ReplyBody>, SendError> {
        let destination = Destination::of(request.uri()).ok_or_else(|| {
            SendError::new(
                SendErrorKind::Connect,
                format!("{} is not an absolute URL", request.uri()),
            )
        })?;
        if let Some(shared) = self.shared_connection(&destination) {
            return self.send_shared(shared, request, deadline).await;
        }
        let connection = match self.take_idle(&destination) {
            Some(connection) => connection,
            None => match self.connect(request.uri(), destination).await? {
                Connected::H1(connection) => connection,
                Connected::H2(shared) => return self.send_shared(shared, request, deadline).await,
            },
        };
        self.send_h1(connection, request).await
    }

    /// The live shared HTTP/2 connection to `destination`, if there is one.
    fn shared_connection(&self, destination: &Destination) -> Option<Handle> {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        match &*shared {
            Some((to, handle)) if to == destination && !handle.state.has_ended() => {
                Some(handle.clone())
            }
            Some((to, _)) if to == destination => {
                *shared = None;
                None
            }
            _ => None,
        }
    }

    /// Sends `request` on a stream of the shared HTTP/2 connection.
    async fn send_shared(
        &self,
        shared: Handle,
        request: Request<B>,
        deadline: Option<Instant>,
    ) -> Result<Response<ReplyBody>, SendError> {
        let not_sent = |error: h2::Error| {
            SendError::new(SendErrorKind::NotSent, shared.state.explain(error.into()))
        };
        // Waits for a stream the server allows.
        let mut sender = match shared.sender.clone().ready().await {
            Ok(sender) => sender,
            Err(error) => {
                // Closed or closing: the next call connects anew.
                self.pings.slow_down_if_told(&shared.state, &error);
                let_go(&self.shared, &shared);
                return Err(not_sent(error));
            }
        };
        let on_silence = deadline.map(|deadline| {
            (deadline, || {
                tracing::info!(
                    "letting go of a connection that gave no reply before a call's deadline"
                );
                let_go(&self.shared, &shared);
            })
        });
        match h2_stream::send(&shared, &mut sender, request, &self.pings, on_silence).await {
            Ok(response) => Ok(response.map(|reply| ReplyBody(Reply::H2(reply)))),
            Err(Failed::NotOpened(error)) => Err(not_sent(error)),
            Err(Failed::BrokeOff(error)) => Err(SendError::new(
                SendErrorKind::Exchange,
                shared.state.explain(error),
            )),
        }
    }

    /// The most recently used idle connection to `destination` that is still
    /// usable; those found closed, or rested too long, are dropped.
    fn take_idle(&self, destination: &Destination) -> Option<H1<B>> {
        loop {
            let Idle { mut connection, .. } = {
                let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
                close_stale(&mut idle);
                let at = idle
                    .iter()
                    .rposition(|idle| idle.connection.destination == *destination)?;
                idle.remove(at)
            };
            // Reads what came while it rested: a close from the server ends it.
            connection.drive(&mut Context::from_waker(Waker::noop()));
            if connection.is_usable() {
                return Some(connection);
            }
        }
    }

    /// Puts a connection whose exchange is complete back in the pool.
    fn rest(&self, connection: H1<B>) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        close_stale(&mut idle);
        idle.push(Idle {
            connection,
            since: Instant::now(),
        });
    }

    async fn connect(
        &self,
        uri: &Uri,
        destination: Destination,
    ) -> Result<Connected<B>, SendError> {
        let connect = |error: BoxError| SendError::new(SendErrorKind::Connect, error);
        let stream = self
            .connector
            .clone()
            .call(uri.clone())
            .await
            .map_err(connect)?;
        if stream.connected().is_negotiated_h2() {
            let handle = h2_connection::handshake(TokioIo::new(stream), &self.pings, log_end)
                .await
                .map_err(|error| connect(error.into()))?;
            *self.shared.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((destination, handle.clone()));
            return Ok(Connected::H2(handle));
        }
        let (sender, connection) = http1::Builder::new()
            .handshake(stream)
            .await
            .map_err(|error| connect(error.into()))?;
        Ok(Connected::H1(H1 {
            sender,
            connection: Box::pin(connection),
            ended: false,
            destination,
        }))
    }

    async fn send_h1(
        self: Arc<Self>,
        mut connection: H1<B>,
        mut request: Request<B>,
    ) -> Result<Response<ReplyBody>, SendError> {
        to_origin_form(&mut request, self.adds_host);
        let mut response = std::pin::pin!(connection.sender.send_request(request));
        let response = std::future::poll_fn(|cx| {
            connection.drive(cx);
            response.as_mut().poll(cx)
        })
        .await
        .map_err(|error| SendError::new(SendErrorKind::Exchange, error))?;
        let lent = Lent {
            connection,
            pool: self,
        };
        Ok(response.map(|body| {
            ReplyBody(Reply::H1 {
                body,
                lent: Some(Box::new(lent)),
            })
        }))
    }
}

/// Stops handing out `shared` if it is still the one `kept`.
fn let_go(kept: &Mutex<Option<(Destination, Handle)>>, shared: &Handle) {
    let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
    if kept
        .as_ref()
        .is_some_and(|(_, handle)| Arc::ptr_eq(&handle.state, &shared.state))
    {
        *kept = None;
    }
}

/// Closes the connections that rested too long: the oldest, as they are
/// kept in the order they came back. Done whenever the pool is used.
fn close_stale<B: Body + 'static>(idle: &mut Vec<Idle<B>>) {
    let stale = idle
        .iter()
        .take_while(|idle| idle.since.elapsed() >= IDLE_TIMEOUT)
        .count();
    idle.drain(..stale);
}

fn log_end(ended: &Ended) {
    match ended {
        Ended::Connection(Ok(())) => {}
        Ended::Connection(Err(error)) => tracing::debug!(%error, "HTTP/2 connection ended"),
        Ended::Unanswered => {
            tracing::info!("dropping a connection: a keep-alive ping went unanswered");
        }
    }
}

/// An HTTP/1.1 request names only its path and query; the host goes in
/// `Host`.
fn to_origin_form<B>(request: &mut Request<B>, adds_host: bool) {
    if adds_host
        && !request.headers().contains_key(http::header::HOST)
        && let Some(authority) = request.uri().authority()
        && let Ok(host) = HeaderValue::from_str(authority.as_str())
    {
        request.headers_mut().insert(http::header::HOST, host);
    }
    let path = request
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
    *request.uri_mut() = Uri::from(path);
}

enum Connected<B: Body + 'static> {
    H1(H1<B>),
    H2(Handle),
}

/// A connection lent to one exchange, as its reply's body holds it (the
/// type of the requests it carries left out).
trait Lending: Send {
    /// Moves the connection's bytes as far as they go now.
    fn drive(&mut self, cx: &mut Context<'_>);

    /// The exchange is complete: the connection goes back to the pool if
    /// it can carry another request.
    fn give_back(self: Box<Self>, cx: &mut Context<'_>);
}

struct Lent<B: Body + 'static> {
    connection: H1<B>,
    pool: Arc<Inner<B>>,
}

impl<B> Lending for Lent<B>
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    fn drive(&mut self, cx: &mut Context<'_>) {
        self.connection.drive(cx);
    }

    fn give_back(mut self: Box<Self>, cx: &mut Context<'_>) {
        // Lets the connection settle into waiting for the next request.
        self.connection.drive(cx);
        if self.connection.is_usable() {
            self.pool.rest(self.connection);
        }
    }
}

/// A response's body, read from its connection.
pub(crate) struct ReplyBody(Reply);

enum Reply {
    H1 {
        body: Incoming,
        /// Until the body is read whole: then back to the pool.
        lent: Option<Box<dyn Lending>>,
    },
    H2(h2_stream::Reply),
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match &mut self.get_mut().0 {
            Reply::H2(reply) => Pin::new(reply).poll_frame(cx).map_err(BodyError),
            Reply::H1 { body, lent } => {
                // The connection moves the body's bytes into it.
                if let Some(lent) = lent {
                    lent.drive(cx);
                }
                match ready!(Pin::new(&mut *body).poll_frame(cx)) {
                    Some(Ok(frame)) => Poll::Ready(Some(Ok(frame))),
                    Some(Err(error)) => {
                        lent.take();
                        Poll::Ready(Some(Err(BodyError(error.into()))))
                    }
                    None => {
                        if let Some(lent) = lent.take() {
                            lent.give_back(cx);
                        }
                        Poll::Ready(None)
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Reply::H1 { body, .. } => body.is_end_stream(),
            Reply::H2(reply) => reply.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Reply::H1 { body, .. } => body.size_hint(),
            Reply::H2(reply) => reply.size_hint(),
        }
    }
}
