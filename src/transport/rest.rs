//! The HTTP/JSON transport: each call transcoded onto the route table, sent
//! with hyper (HTTP/1.1 or HTTP/2, rustls, pooled connections), and its JSON
//! reply or REST error body mapped back.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full, Limited};
use prost::{Message, Name};
use serde_json::Value;
use tower_service::Service;

use super::failure::{Written, deadline_passed, origin_of, written};
use super::json_reply::{parse_reply, read_text};
use super::page::Page;
use super::taken::{Taken, TakenBody};
use super::{BoxFuture, Transport};
use crate::error::{Error, Origin, Result, innermost_cause};
use crate::http::{self as endpoint, BodyError, require_runtime};
use crate::http_error::error_from_response;
use crate::json;
use crate::layer::{BoxBody, BoxError, HttpService, LayerError, Layers, SendFailure, Stack};
use crate::options::{CallContext, shown_headers};
use crate::proto::longrunning::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
    Operation, WaitOperationRequest,
};
use crate::proto::rpc::Code;
use crate::routes::transcode::{HttpRequestParts, transcode, transcode_name_only};
use crate::routes::{Routes, Rpc};
use crate::telemetry;

/// Talks to an Operations service over HTTP/JSON.
///
/// One pointer to what its calls share: each call holds a clone for as long
/// as it runs.
#[derive(Clone)]
pub(crate) struct RestTransport(Arc<Shared>);

pub(crate) struct Shared {
    client: crate::http::HttpClient<RequestBody>,
    /// The caller's layers around [`Sender`], if any were given.
    layers: Option<Stack>,
    base: Arc<str>,
    /// The base URL's scheme, authority and path (without a trailing `/`),
    /// parsed once so that each call parses only its own path.
    origin: endpoint::Origin,
    /// `Host` for an `http://` endpoint, which is always spoken to in
    /// HTTP/1.1: made once rather than by hyper on every request.
    host: Option<http::HeaderValue>,
    routes: Routes,
    max_response_bytes: usize,
}

impl std::ops::Deref for RestTransport {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl std::fmt::Debug for RestTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestTransport")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// One request as it would go on the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpPreview {
    /// `GET`, `POST`, `DELETE`...
    pub method: String,
    /// The full URL, path percent-encoded, query included.
    pub url: String,
    /// Request headers, with credentials redacted.
    pub headers: Vec<(String, String)>,
    /// The JSON body, if any.
    pub body: Option<String>,
}

impl std::fmt::Display for HttpPreview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} {}", self.method, self.url)?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}: {value}")?;
        }
        if let Some(body) = &self.body {
            writeln!(f)?;
            writeln!(f, "{body}")?;
        }
        Ok(())
    }
}

impl RestTransport {
    /// Prepares a pooled HTTP client for `url` (`http://` or `https://`),
    /// connecting through `proxy` when given; an HTTP/2 connection (when
    /// TLS chooses it) is pinged by `keep_alive`.
    pub(crate) fn new(
        url: &str,
        routes: Routes,
        max_response_bytes: usize,
        proxy: Option<crate::proxy::Route>,
        keep_alive: crate::http::KeepAlive,
        layers: &Layers,
        tls: &crate::http::Tls,
    ) -> Result<Self> {
        if let Some(problem) = routes.problem() {
            return Err(Error::new(
                Code::InvalidArgument,
                format!("invalid routes: {problem}"),
            ));
        }
        let mut origin = endpoint::Origin::parse(url)?;
        // A path after the host is kept in front of every request's path.
        origin
            .path
            .truncate(origin.path.trim_end_matches('/').len());
        require_runtime()?;
        let host = host_header(&origin);
        let client = crate::http::client(
            crate::http::is_https(url),
            tls,
            proxy,
            host.is_none(),
            keep_alive,
        );
        Ok(Self(Arc::new(Shared {
            layers: layers.around(HttpService::new(Sender(client.clone()))),
            client,
            host,
            origin,
            base: url.trim_end_matches('/').into(),
            routes,
            max_response_bytes,
        })))
    }

    /// Sends one call and reads a successful reply with `read`.
    ///
    /// The request is built and handed to hyper before the returned future
    /// exists, so that the future (allocated for every call) holds only
    /// what is still to come: the response, its body and the deadline.
    fn call<M: Send + 'static>(
        &self,
        parts: Result<HttpRequestParts>,
        read: fn(Bytes, &Arc<str>) -> Result<M>,
        call: CallContext,
    ) -> BoxFuture<Result<M>> {
        let remaining = call.remaining();
        if remaining.is_some_and(|remaining| remaining.is_zero()) {
            return Box::pin(std::future::ready(Err(deadline_passed(
                &self.base,
                Written::Never,
            ))));
        }
        let deadline = call.deadline;
        let request = match parts.and_then(|parts| self.request(&parts, call, remaining)) {
            Ok(request) => request,
            Err(error) => return Box::pin(std::future::ready(Err(error))),
        };
        telemetry::record_http_request(request.method(), request.uri().path());
        // For a deadline that may pass first, the body notes when a
        // connection takes the request. The caller's layers may hold,
        // rebuild or send the request where this cannot see: through them,
        // there is no marker and the request is taken to be sent.
        let (sent, taken) = match &self.layers {
            None => {
                let taken = remaining.map(|_| Taken::default());
                let body = |body| Either::Left(TakenBody::new(body, taken.clone()));
                let sent = Sent::Direct(self.client.request(request.map(body), deadline));
                (sent, taken)
            }
            Some(layers) => {
                let sent = Sent::Layered(layers.send(request.map(|body| {
                    body.map_err(|never| -> BoxError { match never {} })
                        .boxed_unsync()
                })));
                (sent, None)
            }
        };
        let this = self.clone();
        Box::pin(async move {
            let exchange = this.reply(sent);
            let Reply {
                status,
                retry_after,
                body,
            } = match remaining {
                Some(remaining) => tokio::time::timeout(remaining, exchange)
                    .await
                    .map_err(|_| deadline_passed(&this.base, written(taken.as_ref())))??,
                None => exchange.await?,
            };
            telemetry::record_http_status(status);
            if !(200..300).contains(&status) {
                let error = error_from_response(status, &body).with_http_status(status);
                return Err(match retry_after {
                    Some(delay) => error.with_retry_after(delay),
                    None => error,
                });
            }
            read(body, &this.base)
        })
    }

    /// The HTTP request for `parts`, with the call's headers.
    fn request(
        &self,
        parts: &HttpRequestParts,
        call: CallContext,
        remaining: Option<Duration>,
    ) -> Result<http::Request<Full<Bytes>>> {
        let body = parts
            .body
            .as_ref()
            .map(|json| Bytes::from(json.to_string()))
            .unwrap_or_default();
        let mut request = http::Request::new(Full::new(body));
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = self
            .uri(parts)
            .map_err(|e| invalid_request(&self.url(parts), &e.to_string()))?;
        let headers = request.headers_mut();
        *headers = call.headers;
        add_base_headers(headers, parts, remaining);
        if let Some(host) = &self.host {
            headers.insert(http::header::HOST, host.clone());
        }
        Ok(request)
    }

    /// Waits for the response and reads its whole (bounded) body.
    async fn reply(&self, sent: Sent) -> Result<Reply> {
        match sent {
            Sent::Direct(response) => {
                let response = response.await.map_err(|e| self.send_error(e))?;
                self.read(response).await
            }
            Sent::Layered(response) => {
                let response = response.await.map_err(|e| self.layered_send_error(e))?;
                self.read(response.map(LayeredBody)).await
            }
        }
    }

    /// Reads a response's status, `Retry-After` and whole (bounded) body.
    async fn read<B>(&self, response: http::Response<B>) -> Result<Reply>
    where
        B: hyper::body::Body<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let body = Limited::new(response.into_body(), self.max_response_bytes)
            .collect()
            .await
            .map_err(|e| self.body_error(e))?
            .to_bytes();
        Ok(Reply {
            status,
            retry_after,
            body,
        })
    }

    /// The request's URI: the base's scheme and authority, and only the
    /// path and query to parse.
    fn uri(&self, parts: &HttpRequestParts) -> std::result::Result<http::Uri, http::Error> {
        let endpoint::Origin {
            scheme,
            authority,
            path: prefix,
            ..
        } = &self.origin;
        let path_and_query = if prefix.is_empty() {
            parts.path_and_query()
        } else {
            format!("{prefix}{}", parts.path_and_query())
        };
        http::Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query(http::uri::PathAndQuery::from_maybe_shared(Bytes::from(
                path_and_query,
            ))?)
            .build()
    }

    /// The request's URL as text, for messages.
    fn url(&self, parts: &HttpRequestParts) -> String {
        format!("{}{}", self.base, parts.path_and_query())
    }

    fn send_error(&self, error: crate::http::SendError) -> Error {
        if let Some(proxy) = crate::proxy::ProxyError::find(&error) {
            // The proxy did not open the tunnel: the server never saw the request.
            return proxy.to_error(&self.base).with_origin(Origin::Connect);
        }
        let detail = innermost_cause(&error);
        let origin = origin_of(&error);
        let message = match origin {
            Origin::Connect | Origin::Handshake => format!("cannot reach {}: {detail}", self.base),
            Origin::NotHttp => format!("{} does not answer in HTTP: {detail}", self.base),
            _ => format!("no reply from {}: {detail}", self.base),
        };
        Error::local(origin, Code::Unavailable, message).with_source(error)
    }

    /// The error of a request sent through the caller's layers: a layer's
    /// own, or the client's as it came through them.
    fn layered_send_error(&self, error: BoxError) -> Error {
        if let Some(layer) = LayerError::find(error.as_ref()) {
            return layer.to_error(&self.base);
        }
        match error.downcast::<crate::http::SendError>() {
            Ok(error) => self.send_error(*error),
            Err(other) => Error::local(
                Origin::NoReply,
                Code::Unavailable,
                format!("no reply from {}: {other}", self.base),
            ),
        }
    }

    fn body_error(&self, error: Box<dyn std::error::Error + Send + Sync>) -> Error {
        if error.is::<http_body_util::LengthLimitError>() {
            return Error::local(
                Origin::Decode,
                Code::ResourceExhausted,
                format!(
                    "the response from {} is larger than {} bytes",
                    self.base, self.max_response_bytes
                ),
            );
        }
        Error::local(
            Origin::NoReply,
            Code::Unavailable,
            format!("the response from {} broke off: {error}", self.base),
        )
    }
}

/// A request whose only field is `name` transcoded onto `routes`, by the
/// shortcut when the routes allow it.
fn name_only_parts<M: Message + Name>(
    routes: &Routes,
    rpc: Rpc,
    (request, name): (&M, &str),
) -> Result<HttpRequestParts> {
    let rules = routes.rules(rpc);
    if rules.is_empty() {
        return Err(no_binding(rpc));
    }
    match transcode_name_only(rules, name) {
        Some(parts) => parts.map_err(|e| request_error(Code::InvalidArgument, e.to_string())),
        None => request_parts(routes, rpc, request),
    }
}

/// A request that cannot be built: nothing is sent.
fn request_error(code: Code, message: String) -> Error {
    Error::local(Origin::Request, code, message)
}

fn no_binding(rpc: Rpc) -> Error {
    request_error(
        Code::Unimplemented,
        format!("the routes have no HTTP binding for {}", rpc.name()),
    )
}

/// A request message transcoded onto `routes`.
fn request_parts<M: Message + Name>(
    routes: &Routes,
    rpc: Rpc,
    request: &M,
) -> Result<HttpRequestParts> {
    let rules = routes.rules(rpc);
    if rules.is_empty() {
        return Err(no_binding(rpc));
    }
    let message = json::to_dynamic(request, &M::full_name()).ok_or_else(|| {
        request_error(
            Code::Internal,
            format!("{} is not a known message type", M::full_name()),
        )
    })?;
    transcode(rules, &message).map_err(|e| request_error(Code::InvalidArgument, e.to_string()))
}

/// What a call would send over REST to `base`, without sending it.
pub(crate) fn preview<M: Message + Name>(
    base: &str,
    routes: &Routes,
    rpc: Rpc,
    request: &M,
    call: &CallContext,
) -> Result<HttpPreview> {
    if let Some(problem) = routes.problem() {
        return Err(Error::new(
            Code::InvalidArgument,
            format!("invalid routes: {problem}"),
        ));
    }
    let parts = request_parts(routes, rpc, request)?;
    // The same map the transport would send.
    let mut headers = call.headers.clone();
    add_base_headers(&mut headers, &parts, call.remaining());
    Ok(HttpPreview {
        method: parts.method.to_string(),
        url: format!("{}{}", base.trim_end_matches('/'), parts.path_and_query()),
        headers: shown_headers(&headers),
        body: parts.body.as_ref().map(Value::to_string),
    })
}

fn invalid_request(url: &str, why: &str) -> Error {
    Error::local(
        Origin::Request,
        Code::InvalidArgument,
        format!("cannot build the request for {url}: {why}"),
    )
}

/// The headers every request carries; a caller's own `accept` is kept.
/// The `Host` header of requests to `origin` when it is `http://`: its
/// host, and its port unless that is 80, as hyper would write it. None for
/// `https://`, which may speak HTTP/2, where the host goes in `:authority`.
fn host_header(origin: &endpoint::Origin) -> Option<http::HeaderValue> {
    if origin.scheme != http::uri::Scheme::HTTP {
        return None;
    }
    let host = origin.authority.host();
    let text = match origin.authority.port_u16() {
        Some(port) if port != 80 => format!("{host}:{port}"),
        _ => host.to_owned(),
    };
    http::HeaderValue::from_str(&text).ok()
}

fn add_base_headers(
    headers: &mut http::HeaderMap,
    parts: &HttpRequestParts,
    remaining: Option<Duration>,
) {
    use http::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
    const JSON: http::HeaderValue = http::HeaderValue::from_static("application/json");
    headers.entry(ACCEPT).or_insert(JSON);
    headers.insert(
        USER_AGENT,
        http::HeaderValue::from_static(crate::user_agent::USER_AGENT),
    );
    if parts.body.is_some() {
        headers.insert(CONTENT_TYPE, JSON);
    }
    if let Some(remaining) = remaining {
        // Google front ends read the caller's deadline from this header.
        const X_SERVER_TIMEOUT: http::HeaderName =
            http::HeaderName::from_static("x-server-timeout");
        headers.insert(X_SERVER_TIMEOUT, server_timeout(remaining));
    }
}

/// `x-server-timeout`: the seconds left, with milliseconds (`59.998`).
fn server_timeout(remaining: Duration) -> http::HeaderValue {
    // Digits written by hand into a buffer sized for any u64 of seconds:
    // this runs on every call.
    let mut text = [0u8; 24];
    let mut at = text.len();
    let mut put = |digit: u64| {
        at -= 1;
        text[at] = b'0' + (digit % 10) as u8;
    };
    let millis = u64::from(remaining.subsec_millis());
    put(millis);
    put(millis / 10);
    put(millis / 100);
    at -= 1;
    text[at] = b'.';
    let mut seconds = remaining.as_secs();
    loop {
        at -= 1;
        text[at] = b'0' + (seconds % 10) as u8;
        seconds /= 10;
        if seconds == 0 {
            break;
        }
    }
    http::HeaderValue::from_bytes(&text[at..]).expect("digits and a dot are a valid header value")
}

/// A request's body: the transport's own, or one that went through the
/// caller's layers.
type RequestBody = Either<TakenBody, BoxBody>;

/// A request on its way: straight to the pooled client, or through the
/// caller's layers.
enum Sent {
    Direct(crate::http::ResponseFuture),
    Layered(BoxFuture<std::result::Result<http::Response<BoxBody>, BoxError>>),
}

/// A reply body that came through the caller's layers, with the error type
/// of the pool's bodies (see [`BodyError`]).
struct LayeredBody(BoxBody);

impl hyper::body::Body for LayeredBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<hyper::body::Frame<Bytes>, BodyError>>> {
        std::pin::Pin::new(&mut self.0)
            .poll_frame(context)
            .map(|frame| frame.map(|frame| frame.map_err(BodyError)))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.0.size_hint()
    }
}

/// The innermost service of the caller's layers: sends with the pooled
/// client.
#[derive(Clone)]
struct Sender(crate::http::HttpClient<RequestBody>);

impl Service<http::Request<BoxBody>> for Sender {
    type Response = http::Response<BoxBody>;
    type Error = BoxError;
    type Future = BoxFuture<std::result::Result<http::Response<BoxBody>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::result::Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<BoxBody>) -> Self::Future {
        // The caller's layers may hold or rebuild the request: no deadline
        // is known here.
        let response = self.0.request(request.map(Either::Right), None);
        Box::pin(async move {
            match response.await {
                Ok(response) => Ok(response.map(|body| body.map_err(Into::into).boxed_unsync())),
                Err(error) => Err(Box::new(SendFailure(Box::new(error))) as BoxError),
            }
        })
    }
}

/// A response as read: status, `Retry-After`, whole body.
struct Reply {
    status: u16,
    retry_after: Option<Duration>,
    body: Bytes,
}

/// `Retry-After`: seconds, or an HTTP date (how long until then).
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

fn read_operation(body: Bytes, base: &Arc<str>) -> Result<Operation> {
    read_text(&body, &OPERATION, base, json::parse_operation)
}

fn read_empty(body: Bytes, base: &Arc<str>) -> Result<()> {
    parse_reply(&body, "google.protobuf.Empty", base)
}

// The reply's full name, taken from the message once.
static OPERATION: LazyLock<String> = LazyLock::new(Operation::full_name);

impl Transport for RestTransport {
    fn rpc_system(&self) -> &'static str {
        telemetry::HTTP
    }

    fn headers_added(&self, rpc: Rpc) -> usize {
        // `accept`, the user agent and `x-server-timeout`; `Host` for
        // `http://`; a content type for a request with a body.
        let body = self
            .routes
            .rules(rpc)
            .first()
            .is_some_and(|rule| rule.body.is_some());
        3 + usize::from(self.host.is_some()) + usize::from(body)
    }

    fn get_operation(
        &self,
        request: GetOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Operation>> {
        let parts = name_only_parts(&self.routes, Rpc::GetOperation, (&request, &request.name));
        self.call(parts, read_operation, call)
    }

    fn list_operations(
        &self,
        request: ListOperationsRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Page>> {
        let parts = request_parts(&self.routes, Rpc::ListOperations, &request);
        self.call(parts, Page::from_json, call)
    }

    fn cancel_operation(
        &self,
        request: CancelOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<()>> {
        let parts = name_only_parts(
            &self.routes,
            Rpc::CancelOperation,
            (&request, &request.name),
        );
        self.call(parts, read_empty, call)
    }

    fn delete_operation(
        &self,
        request: DeleteOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<()>> {
        let parts = name_only_parts(
            &self.routes,
            Rpc::DeleteOperation,
            (&request, &request.name),
        );
        self.call(parts, read_empty, call)
    }

    fn wait_operation(
        &self,
        request: WaitOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Operation>> {
        let parts = request_parts(&self.routes, Rpc::WaitOperation, &request);
        self.call(parts, read_operation, call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_is_written_as_hyper_writes_it_for_http_only() {
        let host = |url: &str| {
            let origin = endpoint::Origin::parse(url).expect("a valid URL");
            host_header(&origin).map(|value| value.to_str().unwrap_or_default().to_owned())
        };
        assert_eq!(
            host("http://127.0.0.1:8080").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(
            host("http://example.com:80/v1").as_deref(),
            Some("example.com")
        );
        assert_eq!(host("http://example.com").as_deref(), Some("example.com"));
        assert_eq!(host("http://[::1]:9000").as_deref(), Some("[::1]:9000"));
        assert_eq!(host("https://earthengine.googleapis.com"), None);
    }

    #[test]
    fn server_timeout_is_seconds_with_three_decimals() {
        for (remaining, expected) in [
            (Duration::from_millis(59_998), "59.998"),
            (Duration::from_millis(300), "0.300"),
            (Duration::from_micros(999), "0.000"),
            (Duration::from_millis(10_050), "10.050"),
            (Duration::ZERO, "0.000"),
            (Duration::MAX, "18446744073709551615.999"),
        ] {
            assert_eq!(server_timeout(remaining), expected, "{remaining:?}");
        }
    }

    #[tokio::test]
    async fn request_uris_keep_the_endpoints_path() {
        let parts = HttpRequestParts {
            method: http::Method::GET,
            path: "/v1/projects/p/operations/a%20b".to_owned(),
            query: vec![("pageSize".to_owned(), "5".to_owned())],
            body: None,
        };
        for (base, expected) in [
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/v1/projects/p/operations/a%20b?pageSize=5",
            ),
            (
                "https://proxy.example/ee/",
                "https://proxy.example/ee/v1/projects/p/operations/a%20b?pageSize=5",
            ),
        ] {
            let transport = RestTransport::new(
                base,
                Routes::earth_engine(crate::routes::ApiVersion::V1),
                1024,
                None,
                Default::default(),
                &Layers::default(),
                &crate::http::Tls::system(),
            )
            .expect("a valid endpoint");
            let uri = transport.uri(&parts).expect("a valid path");
            assert_eq!(uri.to_string(), expected);
            assert_eq!(transport.url(&parts), expected);
        }
        for bad in ["ftp://host", "host:80", "/just/a/path"] {
            let error = RestTransport::new(
                bad,
                Routes::earth_engine(crate::routes::ApiVersion::V1),
                1024,
                None,
                Default::default(),
                &Layers::default(),
                &crate::http::Tls::system(),
            )
            .expect_err("not an http(s) origin");
            assert_eq!(error.code(), Code::InvalidArgument, "{bad}");
        }
    }

    #[tokio::test]
    async fn the_headers_said_to_be_added_are_the_ones_a_request_gets() {
        for base in ["http://127.0.0.1:8080", "https://proxy.example/ee/"] {
            let routes = Routes::earth_engine(crate::routes::ApiVersion::V1);
            let transport = RestTransport::new(
                base,
                routes.clone(),
                1024,
                None,
                Default::default(),
                &Layers::default(),
                &crate::http::Tls::system(),
            )
            .expect("a valid endpoint");
            for rpc in Rpc::ALL {
                let rule = &routes.rules(rpc)[0];
                let parts = HttpRequestParts {
                    method: http::Method::POST,
                    path: "/v1/projects/p/operations/x".to_owned(),
                    query: Vec::new(),
                    body: rule
                        .body
                        .as_ref()
                        .map(|_| Value::Object(Default::default())),
                };
                let remaining = Duration::from_secs(60);
                let call = CallContext {
                    deadline: Some(tokio::time::Instant::now() + remaining),
                    headers: http::HeaderMap::new(),
                };
                let request = transport
                    .request(&parts, call, Some(remaining))
                    .expect("a valid request");
                assert_eq!(
                    request.headers().len(),
                    transport.headers_added(rpc),
                    "{base} {rpc:?}: {:?}",
                    request.headers()
                );
            }
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO),
            "in the past"
        );
        // A date in the future, in each of the three forms HTTP allows.
        for date in [
            "Fri, 01 Jan 2100 00:00:00 GMT",
            "Tuesday, 01-Jan-69 00:00:00 GMT",
            "Fri Jan  1 00:00:00 2100",
        ] {
            let wait = parse_retry_after(date).unwrap_or_default();
            assert!(wait > Duration::from_secs(365 * 86_400), "{date}: {wait:?}");
        }
        for bad in [
            "soon",
            "",
            "-1",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(bad), None, "{bad:?}");
        }
    }
}
