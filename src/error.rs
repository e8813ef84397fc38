//! The crate's one error type.

use std::fmt;
use std::time::Duration;

use prost::Message;

use crate::proto::rpc::{
    BadRequest, Code, DebugInfo, ErrorInfo, Help, LocalizedMessage, PreconditionFailure,
    QuotaFailure, RequestInfo, ResourceInfo, RetryInfo, Status,
};

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failed call, with the same shape whichever transport or layer noticed it.
///
/// It carries the canonical gRPC [`Code`], the server's message, the decoded
/// `google.rpc.Status` details and what the client was doing. `Display` prints
/// `CODE: message (while ...)`; lower-level causes are reachable through
/// [`std::error::Error::source`].
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    code: Code,
    message: String,
    details: Vec<Detail>,
    action: Option<String>,
    /// The HTTP status of a REST reply, when there was one.
    http_status: Option<u16>,
    /// The reply's `Retry-After`, when it had one.
    retry_after: Option<Duration>,
    origin: Origin,
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Where an error came from: what the client had got to when it failed.
///
/// Set where the error is made, from error types and values (never from
/// message text); the retry loop, `auto`'s choice of transport and the
/// tool's wording read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Building the request failed: nothing was sent.
    Request,
    /// Getting credentials failed: nothing was sent.
    Credentials,
    /// The request provably never reached the server: no connection could
    /// be made (or none before the call's deadline), or the server refused
    /// the stream or was closing the connection before it read the request.
    Connect,
    /// The peer accepted the connection and closed it without a byte: no
    /// server read the request, and nothing shows the endpoint speaks gRPC.
    Unheard,
    /// The connection's TLS handshake failed in a way a second try cannot
    /// change (a certificate not trusted, a peer that does not answer in
    /// TLS, an alert from the server): the request never left the client.
    Handshake,
    /// The request was sent (at least in part) but no complete reply came:
    /// the server may have acted on it.
    NoReply,
    /// The server answered with this status.
    Server,
    /// The endpoint answered, but not in gRPC (an HTTP reply without a gRPC
    /// status, or a peer that does not speak HTTP/2).
    NotGrpc,
    /// The endpoint answered a REST request with something that is not an
    /// HTTP response (a TLS alert from a TLS server addressed in plaintext,
    /// another protocol's greeting): asking again gets the same answer.
    NotHttp,
    /// A reply came but could not be read.
    Decode,
}

/// One decoded entry of `google.rpc.Status.details`.
///
/// Entries of a type this crate does not know, or that fail to decode, are
/// kept as [`Detail::Other`] with their type URL and bytes.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Detail {
    /// Why the error happened, as a stable reason and domain.
    ErrorInfo(ErrorInfo),
    /// How long to wait before retrying.
    RetryInfo(RetryInfo),
    /// Debugging information from the server.
    DebugInfo(DebugInfo),
    /// Which quota was exceeded.
    QuotaFailure(QuotaFailure),
    /// Which precondition failed.
    PreconditionFailure(PreconditionFailure),
    /// Which request fields were invalid.
    BadRequest(BadRequest),
    /// The server's identifier for the request.
    RequestInfo(RequestInfo),
    /// The resource the error is about.
    ResourceInfo(ResourceInfo),
    /// Links to documentation.
    Help(Help),
    /// A localized error message.
    LocalizedMessage(LocalizedMessage),
    /// A detail of a type this crate does not decode, kept as it came.
    Other(prost_types::Any),
}

const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

impl Detail {
    /// Decodes one `Any` from `Status.details`; never fails.
    pub fn from_any(any: prost_types::Any) -> Self {
        let type_name = any
            .type_url
            .rsplit_once('/')
            .map_or(any.type_url.as_str(), |(_, name)| name);
        let bytes = any.value.as_slice();
        let decoded = match type_name {
            "google.rpc.ErrorInfo" => ErrorInfo::decode(bytes).map(Self::ErrorInfo),
            "google.rpc.RetryInfo" => RetryInfo::decode(bytes).map(Self::RetryInfo),
            "google.rpc.DebugInfo" => DebugInfo::decode(bytes).map(Self::DebugInfo),
            "google.rpc.QuotaFailure" => QuotaFailure::decode(bytes).map(Self::QuotaFailure),
            "google.rpc.PreconditionFailure" => {
                PreconditionFailure::decode(bytes).map(Self::PreconditionFailure)
            }
            "google.rpc.BadRequest" => BadRequest::decode(bytes).map(Self::BadRequest),
            "google.rpc.RequestInfo" => RequestInfo::decode(bytes).map(Self::RequestInfo),
            "google.rpc.ResourceInfo" => ResourceInfo::decode(bytes).map(Self::ResourceInfo),
            "google.rpc.Help" => Help::decode(bytes).map(Self::Help),
            "google.rpc.LocalizedMessage" => {
                LocalizedMessage::decode(bytes).map(Self::LocalizedMessage)
            }
            _ => return Self::Other(any),
        };
        decoded.unwrap_or(Self::Other(any))
    }

    /// Encodes the detail back into an `Any` with Google's type URL.
    pub fn to_any(&self) -> prost_types::Any {
        fn pack(name: &str, message: &impl Message) -> prost_types::Any {
            prost_types::Any {
                type_url: format!("{TYPE_URL_PREFIX}google.rpc.{name}"),
                value: message.encode_to_vec(),
            }
        }
        match self {
            Self::ErrorInfo(m) => pack("ErrorInfo", m),
            Self::RetryInfo(m) => pack("RetryInfo", m),
            Self::DebugInfo(m) => pack("DebugInfo", m),
            Self::QuotaFailure(m) => pack("QuotaFailure", m),
            Self::PreconditionFailure(m) => pack("PreconditionFailure", m),
            Self::BadRequest(m) => pack("BadRequest", m),
            Self::RequestInfo(m) => pack("RequestInfo", m),
            Self::ResourceInfo(m) => pack("ResourceInfo", m),
            Self::Help(m) => pack("Help", m),
            Self::LocalizedMessage(m) => pack("LocalizedMessage", m),
            Self::Other(any) => any.clone(),
        }
    }
}

impl Error {
    /// An error with a code and a message, as a server would return it.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                code,
                message: message.into(),
                details: Vec::new(),
                action: None,
                http_status: None,
                retry_after: None,
                origin: Origin::Server,
                source: None,
            }),
        }
    }

    /// An error the client made itself, with where it came from.
    pub(crate) fn local(origin: Origin, code: Code, message: impl Into<String>) -> Self {
        Self::new(code, message).with_origin(origin)
    }

    /// Records where the error came from.
    #[must_use]
    pub(crate) fn with_origin(mut self, origin: Origin) -> Self {
        self.inner.origin = origin;
        self
    }

    /// Where the error came from.
    pub(crate) fn origin(&self) -> Origin {
        self.inner.origin
    }

    /// Rebuilds the error a `google.rpc.Status` describes; an unknown code
    /// number becomes [`Code::Unknown`].
    pub fn from_status(status: Status) -> Self {
        let code = Code::try_from(status.code).unwrap_or(Code::Unknown);
        let mut error = Self::new(code, status.message);
        error.inner.details = status.details.into_iter().map(Detail::from_any).collect();
        error
    }

    /// Adds one decoded detail.
    #[must_use]
    pub fn with_detail(mut self, detail: Detail) -> Self {
        self.inner.details.push(detail);
        self
    }

    /// Records what the client was doing, such as `getting operation X`.
    /// An action already recorded (the innermost one) is kept.
    #[must_use]
    pub fn with_action(mut self, action: impl Into<String>) -> Self {
        if self.inner.action.is_none() {
            self.inner.action = Some(action.into());
        }
        self
    }

    /// Records the HTTP status of the REST reply this error came from.
    #[must_use]
    pub(crate) fn with_http_status(mut self, status: u16) -> Self {
        self.inner.http_status = Some(status);
        self
    }

    /// Records the reply's `Retry-After`.
    #[must_use]
    pub(crate) fn with_retry_after(mut self, delay: Duration) -> Self {
        self.inner.retry_after = Some(delay);
        self
    }

    /// The HTTP status of the REST reply, if the error came from one.
    pub fn http_status(&self) -> Option<u16> {
        self.inner.http_status
    }

    /// Keeps a lower-level cause, reachable through `source()`.
    #[must_use]
    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(std::sync::Arc::from(source.into()));
        self
    }

    /// The canonical gRPC code.
    pub fn code(&self) -> Code {
        self.inner.code
    }

    /// The message, as the server or the failing layer gave it.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The decoded `google.rpc.Status` details.
    pub fn details(&self) -> &[Detail] {
        &self.inner.details
    }

    /// What the client was doing when the error happened.
    pub fn action(&self) -> Option<&str> {
        self.inner.action.as_deref()
    }

    /// How long the server asked the client to wait: its `RetryInfo`, else
    /// an HTTP `Retry-After`.
    pub fn retry_delay(&self) -> Option<Duration> {
        self.inner
            .details
            .iter()
            .find_map(|detail| match detail {
                Detail::RetryInfo(info) => info
                    .retry_delay
                    .and_then(|delay| Duration::try_from(delay).ok()),
                _ => None,
            })
            .or(self.inner.retry_after)
    }

    /// The server's `ErrorInfo`, if it sent one.
    pub fn error_info(&self) -> Option<&ErrorInfo> {
        self.inner.details.iter().find_map(|detail| match detail {
            Detail::ErrorInfo(info) => Some(info),
            _ => None,
        })
    }

    /// The server's `BadRequest`, if it sent one.
    pub fn bad_request(&self) -> Option<&BadRequest> {
        self.inner.details.iter().find_map(|detail| match detail {
            Detail::BadRequest(info) => Some(info),
            _ => None,
        })
    }

    /// True for `NOT_FOUND`.
    pub fn is_not_found(&self) -> bool {
        self.code() == Code::NotFound
    }

    /// True for `DEADLINE_EXCEEDED`, whichever layer noticed the deadline.
    pub fn is_timeout(&self) -> bool {
        self.code() == Code::DeadlineExceeded
    }

    /// True for `UNAVAILABLE`, which includes refused and dropped connections.
    pub fn is_unavailable(&self) -> bool {
        self.code() == Code::Unavailable
    }

    /// True when the server never received this request: it could not be
    /// built, credentials could not be had, no connection could be made (or
    /// none before the call's deadline), or the server turned the request
    /// away unread (a refused stream, a connection it was closing).
    /// Repeating it cannot do anything twice.
    pub fn is_never_sent(&self) -> bool {
        matches!(
            self.inner.origin,
            Origin::Request
                | Origin::Credentials
                | Origin::Connect
                | Origin::Unheard
                | Origin::Handshake
        )
    }

    /// True when no connection to the server could be made (or none before
    /// the call's deadline, or its TLS handshake failed), or the server
    /// turned the request away unread (a subset of
    /// [`is_never_sent`](Self::is_never_sent)).
    pub fn is_connect(&self) -> bool {
        matches!(
            self.inner.origin,
            Origin::Connect | Origin::Unheard | Origin::Handshake
        )
    }

    /// True when the request was sent but no complete reply came back (the
    /// connection broke or went silent, or the deadline passed first): the
    /// server may or may not have acted on it.
    pub fn is_no_reply(&self) -> bool {
        self.inner.origin == Origin::NoReply
    }

    /// True when the server (or whatever answered at its address) replied
    /// with this error.
    pub fn is_from_server(&self) -> bool {
        matches!(
            self.inner.origin,
            Origin::Server | Origin::NotGrpc | Origin::NotHttp
        )
    }

    /// True when a reply came but could not be read.
    pub fn is_decode(&self) -> bool {
        self.inner.origin == Origin::Decode
    }

    /// True for `INVALID_ARGUMENT`.
    pub fn is_invalid_argument(&self) -> bool {
        self.code() == Code::InvalidArgument
    }

    /// True for `UNAUTHENTICATED` and `PERMISSION_DENIED`.
    pub fn is_auth(&self) -> bool {
        matches!(self.code(), Code::Unauthenticated | Code::PermissionDenied)
    }

    /// The error as a `google.rpc.Status`, details re-encoded.
    pub fn to_status(&self) -> Status {
        Status {
            code: self.code() as i32,
            message: self.message().to_owned(),
            details: self.details().iter().map(Detail::to_any).collect(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code().as_str_name(), self.message())?;
        if let Some(action) = self.action() {
            write!(f, " (while {action})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Error");
        debug
            .field("code", &self.code())
            .field("message", &self.message())
            .field("origin", &self.inner.origin);
        if let Some(action) = self.action() {
            debug.field("action", &action);
        }
        if !self.details().is_empty() {
            debug.field("details", &self.details());
        }
        if let Some(source) = &self.inner.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// The first error of type `E` in `error`'s chain of causes, `error`
/// itself included.
pub(crate) fn find_cause<'a, E: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(cause) = next {
        if let Some(found) = cause.downcast_ref::<E>() {
            return Some(found);
        }
        next = cause.source();
    }
    None
}

/// The innermost cause's text: hyper's own messages ("client error
/// (Connect)") say less than the error underneath them.
pub(crate) fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        text = cause.to_string();
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trip_keeps_known_and_unknown_details() {
        let unknown = prost_types::Any {
            type_url: "type.googleapis.com/example.Unknown".into(),
            value: vec![1, 2, 3],
        };
        let retry = RetryInfo {
            retry_delay: Some(prost_types::Duration {
                seconds: 2,
                nanos: 500_000_000,
            }),
        };
        let status = Status {
            code: Code::ResourceExhausted as i32,
            message: "slow down".into(),
            details: vec![Detail::RetryInfo(retry).to_any(), unknown.clone()],
        };
        let error = Error::from_status(status.clone());
        assert_eq!(error.code(), Code::ResourceExhausted);
        assert_eq!(error.retry_delay(), Some(Duration::from_millis(2500)));
        assert_eq!(error.details()[1], Detail::Other(unknown));
        assert_eq!(error.to_status(), status);
    }

    #[test]
    fn undecodable_known_detail_is_kept_raw() {
        let broken = prost_types::Any {
            type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
            value: vec![0xff, 0xff],
        };
        assert_eq!(Detail::from_any(broken.clone()), Detail::Other(broken));
    }

    #[test]
    fn unknown_code_number_is_unknown() {
        let error = Error::from_status(Status {
            code: 99,
            message: "odd".into(),
            details: vec![],
        });
        assert_eq!(error.code(), Code::Unknown);
    }

    #[test]
    fn display_names_code_message_and_action() {
        let error = Error::new(Code::NotFound, "no such operation")
            .with_action("getting operation projects/p/operations/x")
            .with_action("outer action is ignored");
        assert_eq!(
            error.to_string(),
            "NOT_FOUND: no such operation (while getting operation projects/p/operations/x)"
        );
    }
}
