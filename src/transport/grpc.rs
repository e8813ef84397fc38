//! The gRPC transport: tonic stubs over one HTTP/2 channel.

use std::error::Error as StdError;
use std::future::Future;
use std::time::Duration;

use futures_util::FutureExt;
use http::{HeaderName, HeaderValue, Uri};
use prost::Message;
use tonic::Extensions;
use tonic::metadata::MetadataMap;

use super::codec::ProtoCodec;
use super::failure::{Written, deadline_passed, origin_of, undecodable_reply, written};
use super::h2_channel::{CallScope, ChannelError, H2Channel};
use super::page::{EncodedPage, Page};
use super::reply_limit::ReplyTooLarge;
use super::taken::Taken;
use super::{BoxFuture, Transport};
use crate::error::{Error, Origin, Result, find_cause, innermost_cause};
use crate::http::KeepAlive;
use crate::http::{self as endpoint, require_runtime};
use crate::layer::{LayerError, Layers};
use crate::metadata_numbering;
use crate::options::CallContext;
use crate::proto::google::longrunning::operations_client::OperationsClient;
use crate::proto::longrunning::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
    Operation, WaitOperationRequest,
};
use crate::proto::rpc::{Code, Status};
use crate::proxy::ProxyError;
use crate::routes::Rpc;
use crate::telemetry;

/// Talks to an Operations service over gRPC.
#[derive(Clone, Debug)]
pub(crate) struct GrpcTransport {
    channel: H2Channel,
    /// `scheme://authority/` of the endpoint, as the stubs want it.
    origin: Uri,
    max_response_bytes: usize,
    endpoint: std::sync::Arc<str>,
}

impl GrpcTransport {
    /// Prepares a lazily connected channel to `url` (`http://` plaintext
    /// HTTP/2, `https://` TLS with the system's root certificates), through
    /// `proxy` when given.
    pub(crate) fn new(
        url: &str,
        max_response_bytes: usize,
        proxy: Option<crate::proxy::Route>,
        keep_alive: KeepAlive,
        layers: &Layers,
        tls: &crate::http::Tls,
    ) -> Result<Self> {
        let invalid = |why: String| Error::local(Origin::Request, Code::InvalidArgument, why);
        let endpoint::Origin {
            scheme,
            authority,
            path,
            has_query,
        } = endpoint::Origin::parse(url)?;
        if !matches!(path.as_str(), "" | "/") || has_query {
            return Err(invalid(format!(
                "endpoint {url:?} must have no path: gRPC calls go to the host itself"
            )));
        }
        require_runtime()?;
        let origin = Uri::builder()
            .scheme(scheme)
            .authority(authority)
            .path_and_query("/")
            .build()
            .map_err(|e| invalid(format!("invalid endpoint URL {url:?}")).with_source(e))?;
        let channel = H2Channel::new(
            origin.clone(),
            http::HeaderValue::from_static(crate::user_agent::USER_AGENT),
            proxy,
            keep_alive,
            max_response_bytes,
            layers,
            tls,
        );
        Ok(Self {
            channel,
            origin,
            max_response_bytes,
            endpoint: url.into(),
        })
    }

    /// Runs one unary call with the attempt's deadline and headers, mapping
    /// every failure to an [`Error`].
    fn unary<Req, Resp, F, Fut>(
        &self,
        request: Req,
        call: CallContext,
        rpc: F,
    ) -> BoxFuture<Result<Resp::Checked>>
    where
        Req: Send + 'static,
        Resp: metadata_numbering::Reply + Send + 'static,
        Resp::Checked: Send + 'static,
        F: FnOnce(Stub, tonic::Request<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = std::result::Result<tonic::Response<Resp>, tonic::Status>>
            + Send
            + 'static,
    {
        // The call is set up before the returned future exists, so that the
        // future (allocated for every call) holds only the RPC in flight.
        let remaining = call.remaining();
        if remaining.is_some_and(|remaining| remaining.is_zero()) {
            return Box::pin(std::future::ready(Err(deadline_passed(
                &self.endpoint,
                Written::Never,
            ))));
        }
        telemetry::record_grpc_request();
        let mut headers = call.headers;
        if let Some(remaining) = remaining {
            headers.insert(GRPC_TIMEOUT, grpc_timeout(remaining));
        }
        let metadata = MetadataMap::from_headers(headers);
        let request = tonic::Request::from_parts(metadata, Extensions::default(), request);
        let deadline = call.deadline;
        // The channel notes when it hands the request over: a deadline that
        // passes before then passes before a byte of it was written.
        let taken = deadline.map(|_| Taken::default());
        let channel = match deadline.zip(taken.clone()) {
            Some((deadline, taken)) => self.channel.for_call(CallScope { deadline, taken }),
            None => self.channel.clone(),
        };
        let stub = Stub {
            channel,
            origin: self.origin.clone(),
            max_response_bytes: self.max_response_bytes,
        };
        let response = rpc(stub, request);
        let endpoint = self.endpoint.clone();
        // `None` is the deadline passing first.
        let finish =
            move |outcome: Option<std::result::Result<tonic::Response<Resp>, tonic::Status>>| {
                let Some(outcome) = outcome else {
                    return Err(deadline_passed(&endpoint, written(taken.as_ref())));
                };
                match &outcome {
                    Ok(_) => telemetry::record_grpc_status(0),
                    // A status with a cause below it is the client's own.
                    Err(status) if status.source().is_none() => {
                        telemetry::record_grpc_status(i32::from(status.code()));
                    }
                    Err(_) => {}
                }
                outcome
                    .map(|response| {
                        let (headers, reply, _) = response.into_parts();
                        metadata_numbering::check(&headers, reply)
                    })
                    .map_err(|status| error_from_status(&status, &endpoint, deadline))
            };
        // Combinators rather than an async block, which would keep a second
        // copy of the RPC's (large) future beside the one it awaits.
        match deadline {
            // `grpc-timeout` tells the server; the deadline is enforced here
            // too so that a silent server cannot hold the call past it. The
            // channel, told the deadline, retires a connection that gave no
            // reply in the call's whole time.
            Some(deadline) => Box::pin(
                tokio::time::timeout_at(deadline, response)
                    .map(move |outcome| finish(outcome.ok())),
            ),
            None => Box::pin(response.map(move |outcome| finish(Some(outcome)))),
        }
    }
}

/// gRPC's header for the time the server has left to answer.
const GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

/// What one call's RPC is sent with: its channel, the endpoint's origin and
/// the limit on a reply's size.
struct Stub {
    channel: H2Channel,
    origin: Uri,
    max_response_bytes: usize,
}

impl Stub {
    /// The generated client of the Operations service.
    fn operations(self) -> OperationsClient<H2Channel> {
        OperationsClient::with_origin(self.channel, self.origin)
            .max_decoding_message_size(self.max_response_bytes)
    }

    /// ListOperations, its reply kept as each operation's bytes (see
    /// [`EncodedPage`]); otherwise as the generated client sends it.
    async fn list_encoded(
        self,
        request: tonic::Request<ListOperationsRequest>,
    ) -> std::result::Result<tonic::Response<EncodedPage>, tonic::Status> {
        let mut grpc = tonic::client::Grpc::with_origin(self.channel, self.origin)
            .max_decoding_message_size(self.max_response_bytes);
        // As the generated client words it.
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unknown(format!("Service was not ready: {e}")))?;
        let mut request = request;
        request.extensions_mut().insert(tonic::GrpcMethod::new(
            "google.longrunning.Operations",
            "ListOperations",
        ));
        let path =
            http::uri::PathAndQuery::from_static("/google.longrunning.Operations/ListOperations");
        grpc.unary(request, path, ProtoCodec::default()).await
    }
}

/// The `grpc-timeout` for the time left, rounded down to a coarse unit:
/// whole seconds from 10 s up, whole milliseconds from 10 ms up. A value
/// that stays the same from one call to the next is sent as a one-byte
/// reference into HTTP/2's header table; one that changes every
/// microsecond costs its full text and a new table entry on every call.
/// The server may give up a little earlier than the client's own deadline,
/// never later.
pub(crate) fn grpc_timeout(remaining: Duration) -> HeaderValue {
    const MAX_VALUE: u128 = 99_999_999; // the protocol allows 8 digits
    let (value, unit) = if remaining >= Duration::from_secs(10) {
        (remaining.as_secs().into(), b'S')
    } else if remaining >= Duration::from_millis(10) {
        (remaining.as_millis(), b'm')
    } else {
        (remaining.as_micros().max(1), b'u')
    };
    let (value, unit) = if value > MAX_VALUE {
        // Beyond 8 digits of seconds (three years): hours.
        ((value / 3600).min(MAX_VALUE), b'H')
    } else {
        (value, unit)
    };
    LAST_GRPC_TIMEOUT.with_borrow_mut(|last| match last {
        Some((last_value, last_unit, header)) if *last_value == value && *last_unit == unit => {
            header.clone()
        }
        _ => {
            let header = grpc_timeout_text(value, unit);
            *last = Some((value, unit, header.clone()));
            header
        }
    })
}

thread_local! {
    /// The last `grpc-timeout` made on this thread: calls in a row mostly
    /// send the same one, and a clone shares its bytes.
    static LAST_GRPC_TIMEOUT: std::cell::RefCell<Option<(u128, u8, HeaderValue)>> =
        const { std::cell::RefCell::new(None) };
}

fn grpc_timeout_text(value: u128, unit: u8) -> HeaderValue {
    let mut text = value.to_string().into_bytes();
    text.push(unit);
    // Digits and one ASCII letter are always a valid value.
    HeaderValue::from_maybe_shared(bytes::Bytes::from(text))
        .unwrap_or_else(|_| HeaderValue::from_static("1S"))
}

/// How much earlier than the client a server may end a call for its
/// deadline: `grpc-timeout` is rounded down to whole seconds from 10 s up.
const SERVER_DEADLINE_LEAD: Duration = Duration::from_secs(1);

/// Maps a tonic status to the crate's error.
///
/// A status with no cause below it is the server's own (its code, message
/// and details); one with a cause is a failure of the exchange, placed by
/// the cause's type: never sent (UNAVAILABLE, "cannot reach"), not gRPC, or
/// sent with no reply (UNAVAILABLE, "no reply from").
pub(crate) fn error_from_status(
    status: &tonic::Status,
    endpoint: &str,
    deadline: Option<tokio::time::Instant>,
) -> Error {
    let code = Code::try_from(i32::from(status.code())).unwrap_or(Code::Unknown);
    match status.source() {
        Some(cause) => exchange_error(cause, endpoint),
        // A server that ends a call at its deadline as CANCELLED (tonic's
        // servers do) has ended it for the deadline all the same.
        None if code == Code::Cancelled
            && deadline.is_some_and(|deadline| {
                deadline.saturating_duration_since(tokio::time::Instant::now())
                    <= SERVER_DEADLINE_LEAD
            }) =>
        {
            Error::new(Code::DeadlineExceeded, "the call's deadline passed")
        }
        None => server_error(status, code),
    }
}

/// The error for an exchange that broke below gRPC.
fn exchange_error(cause: &(dyn StdError + 'static), endpoint: &str) -> Error {
    if let Some(layer) = LayerError::find(cause) {
        return layer.to_error(endpoint);
    }
    if let Some(proxy) = ProxyError::find(cause) {
        // The proxy did not open the tunnel: the server never saw the request.
        return proxy.to_error(endpoint).with_origin(Origin::Connect);
    }
    let detail = innermost_cause(cause);
    if find_cause::<ReplyTooLarge>(cause).is_some() {
        return Error::local(
            Origin::Decode,
            Code::ResourceExhausted,
            format!("the response from {endpoint} is too large: {detail}"),
        );
    }
    if find_cause::<prost::DecodeError>(cause).is_some() {
        return undecodable_reply(endpoint, &detail);
    }
    let origin = origin_of(cause);
    let error = match origin {
        Origin::Connect | Origin::Unheard | Origin::Handshake => Error::local(
            origin,
            Code::Unavailable,
            format!("cannot reach {endpoint}: {detail}"),
        ),
        Origin::NotGrpc => Error::local(
            origin,
            not_grpc_code(cause),
            format!("{endpoint} does not speak gRPC: {detail}"),
        ),
        _ => Error::local(
            Origin::NoReply,
            Code::Unavailable,
            format!("no reply from {endpoint}: {detail}"),
        ),
    };
    error.with_source(CauseText(chain_text(cause)))
}

/// Every cause in the chain, outermost first, as one line.
fn chain_text(cause: &(dyn StdError + 'static)) -> String {
    let mut text = cause.to_string();
    let mut next = cause.source();
    while let Some(inner) = next {
        let inner_text = inner.to_string();
        if !text.ends_with(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        next = inner.source();
    }
    text
}

/// The code for an endpoint that answered but not in gRPC: the HTTP
/// status's, as a REST reply with it would give; UNAVAILABLE for a peer that
/// does not speak HTTP/2 at all.
fn not_grpc_code(cause: &(dyn StdError + 'static)) -> Code {
    let mut next = Some(cause);
    while let Some(cause) = next {
        if let Some(ChannelError::NotGrpc { status, .. }) = cause.downcast_ref::<ChannelError>() {
            return match crate::http_error::code_for_http_status(status.as_u16()) {
                Code::Ok => Code::Unknown,
                code => code,
            };
        }
        next = cause.source();
    }
    Code::Unavailable
}

/// A cause kept as text: the chain below a tonic status is not `Clone`.
#[derive(Debug)]
struct CauseText(String);

impl std::fmt::Display for CauseText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for CauseText {}

/// The server's own status: its code, message and details.
fn server_error(status: &tonic::Status, code: Code) -> Error {
    if status.details().is_empty() {
        return Error::new(code, status.message());
    }
    match Status::decode(status.details()) {
        Ok(decoded) => {
            let mut error = Error::from_status(decoded);
            // The trailer's code and message are authoritative over the
            // encoded copy in grpc-status-details-bin.
            if error.code() != code || error.message() != status.message() {
                let details = error.details().to_vec();
                error = details
                    .into_iter()
                    .fold(Error::new(code, status.message()), Error::with_detail);
            }
            error
        }
        Err(_) => Error::new(code, status.message()),
    }
}

impl Transport for GrpcTransport {
    fn rpc_system(&self) -> &'static str {
        telemetry::GRPC
    }

    fn headers_added(&self, _: Rpc) -> usize {
        // `grpc-timeout`, the user agent, and tonic's `te` and content type.
        4
    }

    fn get_operation(
        &self,
        request: GetOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Operation>> {
        self.unary(request, call, |stub, r| async move {
            stub.operations().get_operation(r).await
        })
    }

    fn list_operations(
        &self,
        request: ListOperationsRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Page>> {
        let endpoint = self.endpoint.clone();
        let reply = self.unary(request, call, |stub, r| stub.list_encoded(r));
        Box::pin(async move {
            reply
                .await
                .map(|(page, numbering)| Page::encoded(page, numbering, endpoint))
        })
    }

    fn cancel_operation(
        &self,
        request: CancelOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<()>> {
        let reply = self.unary(request, call, |stub, r| async move {
            stub.operations().cancel_operation(r).await
        });
        Box::pin(async move { reply.await.map(|_empty| ()) })
    }

    fn delete_operation(
        &self,
        request: DeleteOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<()>> {
        let reply = self.unary(request, call, |stub, r| async move {
            stub.operations().delete_operation(r).await
        });
        Box::pin(async move { reply.await.map(|_empty| ()) })
    }

    fn wait_operation(
        &self,
        request: WaitOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Operation>> {
        self.unary(request, call, |stub, r| async move {
            stub.operations().wait_operation(r).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn endpoints_are_an_origin_with_no_path() {
        for good in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "https://host",
        ] {
            assert!(
                GrpcTransport::new(
                    good,
                    1024,
                    None,
                    KeepAlive::default(),
                    &Layers::default(),
                    &crate::http::Tls::system()
                )
                .is_ok(),
                "{good}"
            );
        }
        for bad in [
            "ftp://host",
            "host:80",
            "/just/a/path",
            "http://host/prefix",
            "http://host/?a=1",
        ] {
            let error = GrpcTransport::new(
                bad,
                1024,
                None,
                KeepAlive::default(),
                &Layers::default(),
                &crate::http::Tls::system(),
            )
            .expect_err("not a gRPC endpoint");
            assert_eq!(error.code(), Code::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn grpc_timeout_is_coarse_and_never_longer_than_the_time_left() {
        let cases = [
            (Duration::from_secs(60), "60S"),
            (Duration::from_micros(59_999_999), "59S"),
            (Duration::from_millis(10_000), "10S"),
            (Duration::from_micros(9_999_999), "9999m"),
            (Duration::from_millis(10), "10m"),
            (Duration::from_micros(9_999), "9999u"),
            (Duration::from_nanos(10), "1u"),
            (Duration::from_secs(100_000_000), "27777H"),
        ];
        for (remaining, expected) in cases {
            assert_eq!(grpc_timeout(remaining), expected, "{remaining:?}");
        }
    }
}
