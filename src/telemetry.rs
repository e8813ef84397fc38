//! The spans of calls and attempts: one span per call and one per attempt
//! inside it, named after the RPC (`google.longrunning.Operations/GetOperation`)
//! and carrying OpenTelemetry's RPC attribute names, so that a
//! `tracing-opentelemetry` layer exports them as client spans unchanged.
//!
//! The pipeline opens the spans; each transport records on the attempt span
//! (the current one while it runs) what only it knows: its protocol, the
//! HTTP method and path, the status it got. Nothing secret is ever recorded:
//! no header, token or query string, and the server's host without any
//! user name or password the endpoint URL may carry.

use tracing::Span;
use tracing::field::Empty;

use crate::error::Result;
use crate::routes::Rpc;

/// The gRPC service every call belongs to (`rpc.service`).
pub(crate) const SERVICE: &str = "google.longrunning.Operations";

/// `rpc.system` for calls over gRPC.
pub(crate) const GRPC: &str = "grpc";
/// `rpc.system` for calls over HTTP/JSON.
pub(crate) const HTTP: &str = "http";

/// The server calls go to, as spans name it (`server.address`, `server.port`).
#[derive(Debug)]
pub(crate) struct Server {
    address: Box<str>,
    port: Option<u16>,
}

impl Server {
    /// The host and port of `endpoint` (the scheme's port when none is
    /// given); a URL that does not parse names no server.
    pub(crate) fn of(endpoint: &str) -> Self {
        let Ok(uri) = endpoint.parse::<http::Uri>() else {
            return Self {
                address: "".into(),
                port: None,
            };
        };
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        Self {
            // `host()` leaves out any user name and password.
            address: uri.host().unwrap_or_default().into(),
            port,
        }
    }
}

/// Opens a span named after `$rpc` with the fields calls and attempts share
/// (tracing wants every field declared when the span opens) around `$own`,
/// the span's own fields, each with a trailing comma.
macro_rules! rpc_span {
    (@named $rpc:expr, $($fields:tt)*) => {
        // Span names are static, so each RPC has its own call site.
        match $rpc {
            Rpc::GetOperation => {
                tracing::info_span!("google.longrunning.Operations/GetOperation", $($fields)*)
            }
            Rpc::ListOperations => {
                tracing::info_span!("google.longrunning.Operations/ListOperations", $($fields)*)
            }
            Rpc::CancelOperation => {
                tracing::info_span!("google.longrunning.Operations/CancelOperation", $($fields)*)
            }
            Rpc::DeleteOperation => {
                tracing::info_span!("google.longrunning.Operations/DeleteOperation", $($fields)*)
            }
            Rpc::WaitOperation => {
                tracing::info_span!("google.longrunning.Operations/WaitOperation", $($fields)*)
            }
        }
    };
    ($rpc:expr, $system:expr, $server:expr, $($own:tt)*) => {
        rpc_span!(
            @named $rpc,
            otel.kind = "client",
            otel.status_code = Empty,
            rpc.system = $system,
            rpc.service = SERVICE,
            rpc.method = $rpc.name(),
            server.address = &*$server.address,
            server.port = $server.port,
            $($own)*
            eeops.code = Empty,
            error.type = Empty,
        )
    };
}

/// The span of one call, retries included: `rpc.system` is the transport's
/// (an `auto` client's first calls say `grpc` until they learn otherwise),
/// `eeops.resource` the operation or parent named, and the outcome is
/// recorded when the call ends.
pub(crate) fn call_span(rpc: Rpc, system: &'static str, server: &Server, resource: &str) -> Span {
    rpc_span!(
        rpc,
        system,
        server,
        eeops.resource = resource,
        eeops.attempts = Empty,
    )
}

/// The span of one attempt (every time a request is sent, re-sends of
/// requests that never arrived included), inside its call's span. The
/// transport records its protocol and what it sent and got.
pub(crate) fn attempt_span(rpc: Rpc, system: &'static str, server: &Server, attempt: u32) -> Span {
    rpc_span!(
        rpc,
        system,
        server,
        eeops.attempt = attempt,
        http.request.method = Empty,
        url.path = Empty,
        http.response.status_code = Empty,
        rpc.grpc.status_code = Empty,
    )
}

/// Records how a call or attempt ended: its code (`OK` on success) and, for
/// a failure, the error status OpenTelemetry exporters read.
pub(crate) fn record_outcome<T>(span: &Span, outcome: &Result<T>) {
    if span.is_disabled() {
        return;
    }
    match outcome {
        Ok(_) => {
            span.record("eeops.code", "OK");
        }
        Err(error) => {
            let code = error.code().as_str_name();
            span.record("eeops.code", code);
            span.record("error.type", code);
            span.record("otel.status_code", "ERROR");
        }
    }
}

/// Records on the current (attempt) span that the request goes over HTTP:
/// its method and path (without the query, which may carry an API key).
pub(crate) fn record_http_request(method: &http::Method, path: &str) {
    let span = Span::current();
    if span.is_disabled() {
        return;
    }
    span.record("rpc.system", HTTP);
    span.record("http.request.method", method.as_str());
    span.record("url.path", path);
}

/// Records on the current (attempt) span the HTTP status of the reply.
pub(crate) fn record_http_status(status: u16) {
    Span::current().record("http.response.status_code", status);
}

/// Records on the current (attempt) span that the request goes over gRPC.
pub(crate) fn record_grpc_request() {
    Span::current().record("rpc.system", GRPC);
}

/// Records on the current (attempt) span the gRPC status the server gave.
pub(crate) fn record_grpc_status(code: i32) {
    Span::current().record("rpc.grpc.status_code", code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_named_by_host_and_port_without_user_info() {
        let server = Server::of("https://user:secret@example.com/v1");
        assert_eq!(&*server.address, "example.com");
        assert_eq!(server.port, Some(443));
        let server = Server::of("http://127.0.0.1:8080");
        assert_eq!(&*server.address, "127.0.0.1");
        assert_eq!(server.port, Some(8080));
        let server = Server::of("not a url");
        assert_eq!(&*server.address, "");
        assert_eq!(server.port, None);
    }
}
