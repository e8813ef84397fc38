//! The TCP connector both transports build on: straight to the endpoint, or
//! to a proxy and through an HTTP `CONNECT` tunnel to the endpoint.
//!
//! Every connection through a proxy is a tunnel, plaintext `http://`
//! endpoints included: gRPC's HTTP/2 cannot go through a proxy that forwards
//! requests one by one, and a tunnel keeps a single code path and keeps the
//! proxy out of the requests themselves (their headers and tokens).

use std::error::Error as StdError;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::codegen::Service;

use super::Route;
use crate::error::{Error, innermost_cause};
use crate::proto::rpc::Code;

type BoxError = Box<dyn StdError + Send + Sync>;

/// How long a proxy may take to answer `CONNECT`.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest proxy reply head read before giving up on it.
const MAX_REPLY_HEAD: usize = 16 * 1024;

/// Connects over TCP, through the proxy of its route when it has one.
#[derive(Clone, Debug)]
pub(crate) struct ProxyConnector {
    tcp: HttpConnector,
    route: Option<Arc<Route>>,
}

impl ProxyConnector {
    pub(crate) fn new(tcp: HttpConnector, route: Option<Route>) -> Self {
        Self {
            tcp,
            route: route.map(Arc::new),
        }
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<TokioIo<TcpStream>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, endpoint: Uri) -> Self::Future {
        let Some(route) = self.route.clone() else {
            let connecting = self.tcp.call(endpoint);
            return Box::pin(async move { Ok(connecting.await?) });
        };
        let connecting = self.tcp.call(route.proxy.uri.clone());
        Box::pin(async move {
            let mut stream = connecting.await.map_err(|e| {
                ProxyError::new(&route, &endpoint, Failure::Unreachable(innermost_cause(&e)))
            })?;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, tunnel(&mut stream, &route, &endpoint))
                .await
            {
                Ok(Ok(())) => Ok(stream),
                Ok(Err(failure)) => Err(ProxyError::new(&route, &endpoint, failure).into()),
                Err(_) => Err(ProxyError::new(&route, &endpoint, Failure::Silent).into()),
            }
        })
    }
}

/// `host:port` of the endpoint, as `CONNECT` names it.
fn target(endpoint: &Uri) -> String {
    let host = endpoint.host().unwrap_or_default();
    let port = endpoint
        .port_u16()
        .unwrap_or(if endpoint.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    format!("{host}:{port}")
}

/// Asks the proxy for a tunnel to `endpoint` and reads its answer, leaving
/// the stream at the first byte after it.
async fn tunnel(
    stream: &mut TokioIo<TcpStream>,
    route: &Route,
    endpoint: &Uri,
) -> Result<(), Failure> {
    let target = target(endpoint);
    let mut request = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: {}\r\n",
        crate::user_agent::USER_AGENT
    )
    .into_bytes();
    if let Some(authorization) = &route.proxy.authorization {
        request.extend_from_slice(b"Proxy-Authorization: ");
        request.extend_from_slice(authorization.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    let tcp = stream.inner_mut();
    tcp.write_all(&request)
        .await
        .map_err(|e| Failure::Broken(e.to_string()))?;
    let head = read_head(tcp).await?;
    match status_of(&head) {
        Some((status, _)) if (200..300).contains(&status) => Ok(()),
        Some((status, reason)) => Err(Failure::Refused { status, reason }),
        None => Err(Failure::NotHttp),
    }
}

/// Reads the reply's head up to and including its blank line, and not a
/// byte more: what follows belongs to the endpoint (a plaintext HTTP/2
/// server may speak first).
async fn read_head(tcp: &mut TcpStream) -> Result<Vec<u8>, Failure> {
    let broken = |e: std::io::Error| Failure::Broken(e.to_string());
    let mut head = Vec::new();
    let mut buffer = [0u8; 2048];
    loop {
        let available = tcp.peek(&mut buffer).await.map_err(broken)?;
        if available == 0 {
            return Err(Failure::Broken("it closed the connection".to_owned()));
        }
        let mut take = available;
        for (at, &byte) in buffer[..available].iter().enumerate() {
            head.push(byte);
            if head.ends_with(b"\r\n\r\n") {
                take = at + 1;
                break;
            }
        }
        tcp.read_exact(&mut buffer[..take]).await.map_err(broken)?;
        if head.ends_with(b"\r\n\r\n") {
            return Ok(head);
        }
        if head.len() > MAX_REPLY_HEAD {
            return Err(Failure::NotHttp);
        }
    }
}

/// The status code and reason phrase of an HTTP/1.x status line.
fn status_of(head: &[u8]) -> Option<(u16, String)> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end_matches('\r').splitn(3, ' ');
    let version = parts.next()?;
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return None;
    }
    let status = parts.next()?;
    if status.len() != 3 || !status.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let reason: String = parts
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    Some((status.parse().ok()?, reason))
}

/// What went wrong with the proxy.
#[derive(Clone, Debug)]
enum Failure {
    /// No TCP connection to the proxy.
    Unreachable(String),
    /// The connection broke before the proxy answered.
    Broken(String),
    /// No answer within [`HANDSHAKE_TIMEOUT`].
    Silent,
    /// An answer that is not HTTP/1.x.
    NotHttp,
    /// A status other than 2xx.
    Refused { status: u16, reason: String },
}

/// A connection through a proxy that could not be made; its message names
/// the proxy (never its credentials), where its URL came from, the endpoint
/// and what the proxy did.
#[derive(Clone, Debug)]
pub(crate) struct ProxyError {
    message: String,
    code: Code,
}

impl ProxyError {
    fn new(route: &Route, endpoint: &Uri, failure: Failure) -> Self {
        let proxy = format!("the proxy {} ({})", route.proxy.shown, route.from);
        let target = target(endpoint);
        let (code, message) = match failure {
            Failure::Unreachable(cause) => {
                (Code::Unavailable, format!("cannot reach {proxy}: {cause}"))
            }
            Failure::Broken(cause) => (
                Code::Unavailable,
                format!("{proxy} broke off the tunnel to {target}: {cause}"),
            ),
            Failure::Silent => (
                Code::Unavailable,
                format!(
                    "{proxy} did not answer CONNECT {target} within {} s",
                    HANDSHAKE_TIMEOUT.as_secs()
                ),
            ),
            Failure::NotHttp => (
                Code::Unavailable,
                format!("{proxy} answered CONNECT {target} with something other than HTTP"),
            ),
            Failure::Refused { status, reason } => {
                // 407 and 403 are about this client's standing with the
                // proxy and are not retried; a 5xx (the proxy could not
                // reach the endpoint) is transient like any unreachable host.
                let code = match status {
                    407 => Code::Unauthenticated,
                    403 => Code::PermissionDenied,
                    500..=599 => Code::Unavailable,
                    _ => Code::FailedPrecondition,
                };
                let hint = match (status, &route.proxy.authorization) {
                    (407, None) => {
                        " (give credentials in the proxy URL: http://user:password@host:port)"
                    }
                    (407, Some(_)) => " (it refused the credentials in the proxy URL)",
                    _ => "",
                };
                (
                    code,
                    format!("{proxy} refused CONNECT {target}: HTTP {status} {reason}{hint}"),
                )
            }
        };
        Self { message, code }
    }

    /// The crate's error for a call that could not connect through the proxy.
    pub(crate) fn to_error(&self, endpoint: &str) -> Error {
        Error::new(
            self.code,
            format!("cannot reach {endpoint}: {}", self.message),
        )
    }

    /// The proxy failure anywhere in `error`'s chain of causes.
    pub(crate) fn find<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a ProxyError> {
        crate::error::find_cause(error)
    }
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

// No `source()`: the message already holds the cause, and callers that print
// only the innermost cause then still name the proxy.
impl StdError for ProxyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(
            status_of(b"HTTP/1.1 200 Connection established\r\n\r\n"),
            Some((200, "Connection established".to_owned()))
        );
        assert_eq!(
            status_of(
                b"HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n"
            ),
            Some((407, "Proxy Authentication Required".to_owned()))
        );
        assert_eq!(
            status_of(b"HTTP/1.1 502\r\n\r\n"),
            Some((502, String::new()))
        );
        for bad in [
            &b"SSH-2.0-OpenSSH\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/2 200\r\n\r\n",
            b"",
        ] {
            assert_eq!(status_of(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn connect_names_the_endpoints_host_and_port() {
        for (endpoint, expected) in [
            (
                "https://earthengine.googleapis.com",
                "earthengine.googleapis.com:443",
            ),
            ("http://emulator.test:8080/", "emulator.test:8080"),
            ("http://[::1]/", "[::1]:80"),
        ] {
            assert_eq!(target(&endpoint.parse().expect("a URI")), expected);
        }
    }
}
