//! The HTTP/2 connection gRPC calls go over: made on first use, replaced
//! when it breaks or goes silent, and shared by every call of a client.
//!
//! A call opens its stream on the connection's handle itself (see
//! `h2_stream`), waiting first for a stream the server's concurrency limit
//! allows. There is no request queue or task in front of it. Two things
//! notice a connection that stopped
//! delivering frames (a NAT or load balancer that dropped its state without
//! a FIN or RST):
//!
//! - a call whose deadline passes before any reply retires the connection
//!   it used, so that the calls after it connect anew;
//! - keep-alive pings, sent only while calls are in flight and only after
//!   the connection has been quiet for the whole ping interval (by default
//!   5 minutes, the most often servers built on grpc-core accept pings on a
//!   connection without data); a server that answers `GOAWAY
//!   ENHANCE_YOUR_CALM` to them gets half as many on later connections.

use std::error::Error as StdError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Request, Response, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;
use tonic::body::Body;
use tonic::codegen::Service;

use super::BoxFuture;
use super::reply_limit::LimitedReply;
use super::taken::Taken;
use crate::http::h2_connection::{self, Ended, Handle, KeepAlive, PingSchedule};
use crate::http::h2_stream::{self, Failed, Reply};
use crate::layer::{BoxBody, HttpService, Layers, SendFailure, Stack};
use crate::proxy::{ProxyConnector, Route};

type BoxError = Box<dyn StdError + Send + Sync>;

/// How long making a connection (TCP, TLS, HTTP/2 preface) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// What the gRPC transport and the channel share about one call: the
/// transport gives the channel a handle made for the call
/// ([`H2Channel::for_call`]), so that nothing is looked up while it is sent.
#[derive(Clone, Debug)]
pub(crate) struct CallScope {
    pub(crate) deadline: Instant,
    /// Noted when the channel hands the request to a connection or to the
    /// caller's layers.
    pub(crate) taken: Taken,
}

/// A call's deadline, carried through the caller's layers to the
/// connection in the request's extensions.
#[derive(Clone, Copy, Debug)]
struct LayeredDeadline(Instant);

/// Why the channel failed a call before hyper had a reply for it.
#[derive(Debug)]
pub(crate) enum ChannelError {
    /// No connection could be made: nothing was sent.
    Connect(BoxError),
    /// The peer does not speak HTTP/2 (its first bytes broke the protocol).
    NotHttp2(BoxError),
    /// The peer closed the connection without sending a byte: no server
    /// read the request.
    Unheard(BoxError),
    /// The connection closed before the call's stream was opened: nothing
    /// of the request was sent.
    NotSent(BoxError),
    /// The endpoint answered in HTTP, but not with gRPC.
    NotGrpc {
        status: http::StatusCode,
        content_type: Option<String>,
    },
}

impl std::fmt::Display for ChannelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connect(_) => f.write_str("no connection could be made"),
            Self::NotHttp2(_) => f.write_str("the server does not speak HTTP/2"),
            Self::Unheard(_) => {
                f.write_str("the connection closed before the server said anything")
            }
            Self::NotSent(_) => f.write_str("the connection closed before the request was sent"),
            Self::NotGrpc {
                status,
                content_type,
            } => {
                write!(f, "the server answered HTTP {status}")?;
                match content_type {
                    Some(kind) => write!(f, " ({kind}), not gRPC"),
                    None => f.write_str(" with no content type, not gRPC"),
                }
            }
        }
    }
}

impl StdError for ChannelError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Connect(source)
            | Self::NotHttp2(source)
            | Self::Unheard(source)
            | Self::NotSent(source) => Some(source.as_ref()),
            Self::NotGrpc { .. } => None,
        }
    }
}

/// A reply's body: straight from the connection, or through the caller's
/// layers.
pub(crate) type ReplyBody = http_body_util::Either<LimitedReply, BoxBody>;

/// A cheap-to-clone handle on one endpoint's HTTP/2 connection.
#[derive(Clone)]
pub(crate) struct H2Channel {
    shared: Arc<Shared>,
    /// The caller's layers around [`Sender`], if any were given.
    layers: Option<Stack>,
    /// The call this handle was made for, if any.
    call: Option<CallScope>,
}

struct Shared {
    /// `scheme://authority` of the endpoint.
    origin: Uri,
    user_agent: HeaderValue,
    connector: HttpsConnector<ProxyConnector>,
    /// The largest reply message accepted.
    max_message_bytes: usize,
    /// The live connection, if there is one.
    current: Mutex<Option<Live>>,
    /// Held while connecting, so that calls arriving together make one
    /// connection, not one each.
    connecting: tokio::sync::Mutex<()>,
    /// Numbers connections, so that retiring one never retires its successor.
    made: AtomicU64,
    /// How the connections are pinged, one after another.
    pings: PingSchedule,
}

/// One connection's handle and its number.
#[derive(Clone)]
struct Live {
    handle: Handle,
    number: u64,
}

impl std::fmt::Debug for H2Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H2Channel")
            .field("origin", &self.shared.origin)
            .finish_non_exhaustive()
    }
}

impl H2Channel {
    /// A channel to `origin` (`http://` for plaintext HTTP/2, `https://` for
    /// TLS by `tls` and HTTP/2 negotiated by ALPN), through `proxy` when given; nothing is connected yet.
    pub(crate) fn new(
        origin: Uri,
        user_agent: HeaderValue,
        proxy: Option<Route>,
        keep_alive: KeepAlive,
        max_message_bytes: usize,
        layers: &Layers,
        tls: &crate::http::Tls,
    ) -> Self {
        let tcp = crate::http::tcp_connector(CONNECT_TIMEOUT, proxy);
        let tls = tls.connector(origin.scheme_str() == Some("https"));
        let connector = tls.https_or_http().enable_http2().wrap_connector(tcp);
        let shared = Arc::new(Shared {
            origin,
            user_agent,
            connector,
            max_message_bytes,
            current: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            made: AtomicU64::new(0),
            pings: PingSchedule::new(keep_alive),
        });
        Self {
            layers: layers.around(HttpService::new(Sender(shared.clone()))),
            shared,
            call: None,
        }
    }

    /// A handle on the same connection for sending one call: its marker
    /// is noted when the request is handed on, and a call dropped at its
    /// deadline with no reply retires the connection.
    pub(crate) fn for_call(&self, call: CallScope) -> Self {
        Self {
            shared: self.shared.clone(),
            layers: self.layers.clone(),
            call: Some(call),
        }
    }
}

/// The innermost service of the caller's layers: sends on the connection.
#[derive(Clone)]
struct Sender(Arc<Shared>);

impl Service<Request<BoxBody>> for Sender {
    type Response = Response<BoxBody>;
    type Error = BoxError;
    type Future = BoxFuture<Result<Response<BoxBody>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<BoxBody>) -> Self::Future {
        use http_body_util::BodyExt;
        // The marker was noted when the request entered the layers.
        let deadline = request
            .extensions()
            .get::<LayeredDeadline>()
            .map(|deadline| deadline.0);
        let shared = self.0.clone();
        Box::pin(async move {
            match shared.send(request.map(Body::new), deadline, None).await {
                Ok(response) => Ok(response.map(BodyExt::boxed_unsync)),
                Err(error) => Err(Box::new(SendFailure(error)) as BoxError),
            }
        })
    }
}

impl Shared {
    /// The live connection, without waiting, if there is one.
    fn live(&self) -> Option<Live> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|live| !live.handle.state.has_ended())
            .cloned()
    }

    /// Stops giving connection `number` to new calls; calls already on it
    /// run on, and it closes when the last one ends.
    fn retire(&self, number: u64, reason: &'static str) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|live| live.number == number) {
            tracing::info!(connection = number, reason, "retiring a connection");
            *current = None;
        }
    }

    /// The live connection, connecting first if there is none.
    async fn connection(&self) -> Result<Live, ChannelError> {
        if let Some(live) = self.live() {
            return Ok(live);
        }
        let _connecting = self.connecting.lock().await;
        // Another call may have connected while this one waited.
        if let Some(live) = self.live() {
            return Ok(live);
        }
        let number = self.made.fetch_add(1, Ordering::Relaxed);
        let handle = match tokio::time::timeout(CONNECT_TIMEOUT, self.connect(number)).await {
            Ok(connected) => connected.map_err(ChannelError::Connect)?,
            Err(_) => {
                return Err(ChannelError::Connect(
                    std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!(
                            "connecting took longer than {} s",
                            CONNECT_TIMEOUT.as_secs()
                        ),
                    )
                    .into(),
                ));
            }
        };
        let live = Live { handle, number };
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(live.clone());
        Ok(live)
    }

    async fn connect(&self, number: u64) -> Result<Handle, BoxError> {
        let mut connector = self.connector.clone();
        let stream = connector.call(self.origin.clone()).await?;
        let ended = move |ended: &Ended| match ended {
            Ended::Connection(Ok(())) => {}
            Ended::Connection(Err(error)) => {
                tracing::debug!(connection = number, %error, "HTTP/2 connection ended");
            }
            Ended::Unanswered => tracing::info!(
                connection = number,
                "dropping a connection: a keep-alive ping went unanswered"
            ),
        };
        Ok(h2_connection::handshake(TokioIo::new(stream), &self.pings, ended).await?)
    }

    /// Sends `request` on the live connection (connecting first if need
    /// be); `taken` is noted when the request is handed to the
    /// connection. Dropped at or after `deadline` with no reply, it retires
    /// the connection.
    async fn send(
        &self,
        request: Request<Body>,
        deadline: Option<Instant>,
        taken: Option<Taken>,
    ) -> Result<Response<LimitedReply>, BoxError> {
        let mut live = self.connection().await?;
        // Waits for a stream the server allows.
        let mut sender = match live.handle.sender.clone().ready().await {
            Ok(sender) => sender,
            Err(error) => {
                self.pings.slow_down_if_told(&live.handle.state, &error);
                // It closed since it was handed out; nothing was sent on it.
                self.retire(live.number, "it closed");
                live = self.connection().await?;
                live.handle
                    .sender
                    .clone()
                    .ready()
                    .await
                    .map_err(|error| ChannelError::NotSent(error.into()))?
            }
        };
        if let Some(taken) = taken {
            taken.note();
        }
        let state = &live.handle.state;
        let on_silence = deadline.map(|deadline| {
            (deadline, || {
                self.retire(live.number, "no reply came before a call's deadline");
            })
        });
        let reply = h2_stream::send(&live.handle, &mut sender, request, &self.pings, on_silence);
        let response = match reply.await {
            Ok(response) => response,
            Err(Failed::NotOpened(error)) => {
                return Err(ChannelError::NotSent(state.explain(error.into())).into());
            }
            Err(Failed::BrokeOff(error)) if state.said_nothing() => {
                self.retire(live.number, "the peer closed it without a word");
                return Err(ChannelError::Unheard(error).into());
            }
            Err(Failed::BrokeOff(error)) if !state.spoke_http2() => {
                self.retire(live.number, "the peer does not speak HTTP/2");
                return Err(ChannelError::NotHttp2(error).into());
            }
            Err(Failed::BrokeOff(error)) => return Err(state.explain(error)),
        };
        check_grpc(&response)?;
        let limit = self.max_message_bytes;
        Ok(response.map(|body| LimitedReply::new(body, limit)))
    }
}

/// A gRPC reply is HTTP 200 with a gRPC content type; anything else came
/// from something that does not speak gRPC (a web server, a proxy's page).
fn check_grpc(response: &Response<Reply>) -> Result<(), ChannelError> {
    let content_type = response.headers().get(http::header::CONTENT_TYPE);
    let is_grpc = content_type.is_some_and(|kind| kind.as_bytes().starts_with(b"application/grpc"));
    if response.status() == http::StatusCode::OK && is_grpc {
        return Ok(());
    }
    Err(ChannelError::NotGrpc {
        status: response.status(),
        content_type: content_type
            .map(|kind| String::from_utf8_lossy(kind.as_bytes()).into_owned()),
    })
}

impl Service<Request<Body>> for H2Channel {
    type Response = Response<ReplyBody>;
    type Error = BoxError;
    type Future = BoxFuture<Result<Response<ReplyBody>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness is the connection's; it is awaited in `call`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // tonic drops a user agent given as metadata; the transport sets it.
        request
            .headers_mut()
            .insert(http::header::USER_AGENT, self.shared.user_agent.clone());
        use http_body_util::{BodyExt as _, Either};
        if let Some(layers) = &self.layers {
            if let Some(call) = &self.call {
                call.taken.note();
                request
                    .extensions_mut()
                    .insert(LayeredDeadline(call.deadline));
            }
            let sent = layers.send(request.map(|body| body.map_err(Into::into).boxed_unsync()));
            return Box::pin(async move { Ok(sent.await?.map(Either::Right)) });
        }
        let (deadline, taken) = match &self.call {
            Some(call) => (Some(call.deadline), Some(call.taken.clone())),
            None => (None, None),
        };
        let shared = self.shared.clone();
        Box::pin(async move {
            Ok(shared
                .send(request, deadline, taken)
                .await?
                .map(Either::Left))
        })
    }
}
