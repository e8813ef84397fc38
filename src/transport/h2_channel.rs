//! The HTTP/2 connection gRPC calls go over: made on first use, made again
//! after it breaks, and shared by every call of a client.
//!
//! A call goes straight to hyper's connection handle. There is no request
//! queue in front of it and no second timer: the client enforces each call's
//! deadline itself and sends it as `grpc-timeout`.

use std::error::Error as StdError;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::http2::{Builder, SendRequest};
use hyper_rustls::HttpsConnector;
use hyper_util::rt::TokioTimer;
use tonic::body::Body;
use tonic::codegen::Service;

use super::BoxFuture;
use crate::proxy::{ProxyConnector, Route};

type BoxError = Box<dyn StdError + Send + Sync>;

/// How long making a connection (TCP, TLS, HTTP/2 preface) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A cheap-to-clone handle on one endpoint's HTTP/2 connection.
#[derive(Clone)]
pub(crate) struct H2Channel {
    shared: Arc<Shared>,
}

struct Shared {
    /// `scheme://authority` of the endpoint.
    origin: Uri,
    user_agent: HeaderValue,
    connector: HttpsConnector<ProxyConnector>,
    /// The live connection's handle, if there is one.
    current: Mutex<Option<SendRequest<Body>>>,
    /// Held while connecting, so that calls arriving together make one
    /// connection, not one each.
    connecting: tokio::sync::Mutex<()>,
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
    /// TLS with the system's root certificates and HTTP/2 negotiated by
    /// ALPN), through `proxy` when given; nothing is connected yet.
    pub(crate) fn new(origin: Uri, user_agent: HeaderValue, proxy: Option<Route>) -> Self {
        let tcp = crate::http::tcp_connector(CONNECT_TIMEOUT, proxy);
        let tls = if origin.scheme_str() == Some("https") {
            crate::http::tls_with_system_roots()
        } else {
            crate::http::tls_without_roots()
        };
        let connector = tls.https_or_http().enable_http2().wrap_connector(tcp);
        Self {
            shared: Arc::new(Shared {
                origin,
                user_agent,
                connector,
                current: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
            }),
        }
    }
}

impl Shared {
    /// The live connection's handle, without waiting, if there is one.
    fn live(&self) -> Option<SendRequest<Body>> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|sender| !sender.is_closed())
            .cloned()
    }

    /// The live connection's handle, connecting first if there is none.
    async fn sender(&self) -> Result<SendRequest<Body>, BoxError> {
        if let Some(sender) = self.live() {
            return Ok(sender);
        }
        let _connecting = self.connecting.lock().await;
        // Another call may have connected while this one waited.
        if let Some(sender) = self.live() {
            return Ok(sender);
        }
        let sender = tokio::time::timeout(CONNECT_TIMEOUT, self.connect())
            .await
            .map_err(|_| {
                std::io::Error::other(format!(
                    "connecting took longer than {} s",
                    CONNECT_TIMEOUT.as_secs()
                ))
            })??;
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(sender.clone());
        Ok(sender)
    }

    async fn connect(&self) -> Result<SendRequest<Body>, BoxError> {
        let mut connector = self.connector.clone();
        let stream = connector.call(self.origin.clone()).await?;
        // Boxed: hyper keeps the connection's state, which holds the stream,
        // in the same type as the small task it starts for every call.
        let stream = Box::new(stream);
        // No keep-alive pings, as gRPC clients default to: with them, hyper
        // takes a lock on every frame to note when data last arrived. A call
        // on a connection that went silent ends at its deadline.
        let (sender, connection) = Builder::new(BoxingExecutor)
            .timer(TokioTimer::new())
            .handshake(stream)
            .await?;
        tokio::spawn(async move {
            // Ends when every handle is gone or the peer goes away; a broken
            // connection is noticed by the next call, which makes a new one.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "HTTP/2 connection ended");
            }
        });
        Ok(sender)
    }
}

/// Spawns hyper's tasks on Tokio, each moved to the heap once first.
///
/// hyper starts a task for every call, of one type that is as large as the
/// connection's whole state (kilobytes); boxing it up front makes the spawn
/// move a pointer instead of copying that state several times.
#[derive(Clone, Copy, Debug)]
struct BoxingExecutor;

impl<F> hyper::rt::Executor<F> for BoxingExecutor
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        tokio::spawn(Box::pin(future));
    }
}

impl Service<Request<Body>> for H2Channel {
    type Response = Response<Incoming>;
    type Error = BoxError;
    type Future = BoxFuture<Result<Response<Incoming>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness is the connection's; it is awaited in `call`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // tonic drops a user agent given as metadata; the transport sets it.
        request
            .headers_mut()
            .insert(http::header::USER_AGENT, self.shared.user_agent.clone());
        let shared = self.shared.clone();
        Box::pin(async move {
            let mut sender = shared.sender().await?;
            sender.ready().await?;
            Ok(sender.send_request(request).await?)
        })
    }
}
