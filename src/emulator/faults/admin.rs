//! The HTTP endpoint that manages the faults of a running emulator, for
//! `eeops serve` run as a separate process: `GET`, `POST` and `DELETE` on
//! [`PATH`], and `GET` and `DELETE` on `{PATH}/{id}`, as documented on
//! [`RunningEmulator::faults`](crate::emulator::RunningEmulator::faults).
//! It sits outside the Operations API (no token is required) and its
//! requests are recorded like any other.

use axum::body::Body;
use http::header::{ALLOW, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::{Fault, FaultId, Faults};
use crate::emulator::rest::{Failure, error_response, json_response, read_body};
use crate::error::Error;
use crate::proto::rpc::Code;

/// The path of the collection.
pub(crate) const PATH: &str = "/_eeops/faults";

/// Whether the path is the admin endpoint's (the collection or one fault).
pub(crate) fn is_admin_path(path: &str) -> bool {
    path.strip_prefix(PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Answers one admin request; never fails.
pub(crate) async fn handle(faults: &Faults, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let one = parts
        .uri
        .path()
        .strip_prefix(PATH)
        .and_then(|rest| rest.strip_prefix('/'))
        .map(str::to_owned);
    if let Some(id) = one {
        return match parts.method {
            Method::GET | Method::DELETE => match find(faults, &id) {
                Ok((id, fault)) if parts.method == Method::GET => {
                    json_response(StatusCode::OK, &entry(faults, id, &fault))
                }
                Ok((id, _)) => {
                    let removed = u8::from(faults.remove(id));
                    json_response(StatusCode::OK, &json!({ "removed": removed }))
                }
                Err(failure) => error_response(&failure),
            },
            _ => not_allowed(&parts.method, "GET, DELETE"),
        };
    }
    match parts.method {
        Method::GET => {
            let listed: Vec<Value> = faults
                .list()
                .into_iter()
                .map(|(id, fault)| entry(faults, id, &fault))
                .collect();
            json_response(StatusCode::OK, &json!({ "faults": listed }))
        }
        Method::POST => {
            let added = match read_body(body).await {
                Ok(bytes) => parse_fault(&bytes).map_err(Failure::from),
                Err(failure) => Err(failure),
            };
            match added {
                Ok(fault) => {
                    let id = faults.add(fault.clone());
                    json_response(StatusCode::OK, &entry(faults, id, &fault))
                }
                Err(failure) => error_response(&failure),
            }
        }
        Method::DELETE => {
            let removed = faults.clear();
            json_response(StatusCode::OK, &json!({ "removed": removed }))
        }
        _ => not_allowed(&parts.method, "GET, POST, DELETE"),
    }
}

/// The fault with this id (as written in the path).
fn find(faults: &Faults, id: &str) -> Result<(FaultId, Fault), Failure> {
    id.parse::<u64>()
        .ok()
        .and_then(|number| faults.list().into_iter().find(|(id, _)| id.get() == number))
        .ok_or_else(|| {
            let shown: String = id.chars().take(40).collect();
            Error::new(
                Code::NotFound,
                format!("no fault {shown:?} is in force; GET {PATH} lists them"),
            )
            .into()
        })
}

/// A POST body: a fault as a JSON object, or its text form as a JSON
/// string.
fn parse_fault(body: &[u8]) -> Result<Fault, Error> {
    let invalid = |message: String| Error::new(Code::InvalidArgument, message);
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        invalid(format!(
            "the body must be a fault as JSON, such as \
             {{\"method\": \"GetOperation\", \"every\": 3, \"code\": \"UNAVAILABLE\"}}: {e}"
        ))
    })?;
    match &value {
        Value::String(spec) => Fault::parse(spec),
        other => Fault::from_json(other),
    }
    .map_err(|problem| invalid(format!("invalid fault: {problem}")))
}

/// How the admin endpoint shows one fault.
fn entry(faults: &Faults, id: FaultId, fault: &Fault) -> Value {
    json!({
        "id": id.get(),
        "spec": fault.to_string(),
        "fault": fault.to_json(),
        "injected": faults.injected(id).unwrap_or(0),
    })
}

/// 405 naming the methods the path takes.
fn not_allowed(method: &Method, allowed: &'static str) -> Response<Body> {
    let mut response = error_response(&Failure {
        status: StatusCode::METHOD_NOT_ALLOWED,
        error: Error::new(
            Code::Unimplemented,
            format!("{method} is not allowed here; use {allowed}"),
        ),
    });
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allowed));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_paths() {
        assert!(is_admin_path("/_eeops/faults"));
        assert!(is_admin_path("/_eeops/faults/3"));
        assert!(!is_admin_path("/_eeops/faultsx"));
        assert!(!is_admin_path("/v1/projects/p/operations"));
    }

    #[test]
    fn bodies_are_json_objects_or_spec_strings() {
        let from_text = parse_fault(br#""method=GetOperation,every=3""#).expect("a spec string");
        let from_object =
            parse_fault(br#"{"method": "GetOperation", "every": 3}"#).expect("an object");
        assert_eq!(from_text, from_object);
        for bad in [
            &b""[..],
            b"{",
            b"[1]",
            b"\"evry=3\"",
            b"{\"every\": 0}",
            b"\xff",
        ] {
            let error = parse_fault(bad).expect_err("a bad body");
            assert_eq!(error.code(), Code::InvalidArgument);
        }
    }
}
