//! The HTTP endpoint that manages the faults of a running emulator, for
//! `eeops serve` run as a separate process: `GET`, `POST` and `DELETE` on
//! [`PATH`], and `GET` and `DELETE` on `{PATH}/{id}`, as documented on
//! [`RunningEmulator::faults`](crate::emulator::RunningEmulator::faults).
//! It sits outside the Operations API; with a token required (the admin
//! token, or else the Operations one) it refuses requests without it. Its
//! requests are recorded like any other.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::routing::get;
use http::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::{Fault, FaultId, Faults};
use crate::emulator::auth::RequiredToken;
use crate::emulator::reply::{
    Failure, error_response, json_response, not_allowed, read_body, token_refusal,
};
use crate::error::Error;
use crate::proto::rpc::Code;

/// The path of the collection.
pub(crate) const PATH: &str = "/_eeops/faults";

/// The endpoint's routes over `faults`, requiring `token` if there is one.
pub(crate) fn routes(faults: Faults, token: Option<RequiredToken>) -> Router {
    Router::new()
        .route(
            PATH,
            get(list)
                .post(add)
                .delete(clear)
                .fallback(
                    |method: Method| async move { not_allowed(&method, "GET, POST, DELETE") },
                ),
        )
        .route(
            &format!("{PATH}/{{id}}"),
            get(show)
                .delete(remove)
                .fallback(|method: Method| async move { not_allowed(&method, "GET, DELETE") }),
        )
        .route_layer(axum::middleware::map_request(move |request: Request| {
            let checked = match token_refusal(token.as_ref(), request.headers()) {
                Some(refused) => Err(refused),
                None => Ok(request),
            };
            std::future::ready(checked)
        }))
        .with_state(faults)
}

/// `GET {PATH}`: every fault in force, in the order added.
async fn list(State(faults): State<Faults>) -> Response<Body> {
    let listed: Vec<Value> = faults
        .list()
        .into_iter()
        .map(|(id, fault)| entry(&faults, id, &fault))
        .collect();
    json_response(StatusCode::OK, &json!({ "faults": listed }))
}

/// `POST {PATH}`: adds the fault in the body.
async fn add(State(faults): State<Faults>, body: Body) -> Response<Body> {
    let added = match read_body(body).await {
        Ok(bytes) => parse_fault(&bytes).map_err(Failure::from),
        Err(failure) => Err(failure),
    };
    match added {
        Ok(fault) => {
            let id = faults.add(fault.clone());
            json_response(StatusCode::OK, &entry(&faults, id, &fault))
        }
        Err(failure) => error_response(&failure),
    }
}

/// `DELETE {PATH}`: removes every fault.
async fn clear(State(faults): State<Faults>) -> Response<Body> {
    let removed = faults.clear();
    json_response(StatusCode::OK, &json!({ "removed": removed }))
}

/// `GET {PATH}/{id}`: one fault.
async fn show(State(faults): State<Faults>, Path(id): Path<String>) -> Response<Body> {
    match find(&faults, &id) {
        Ok((id, fault)) => json_response(StatusCode::OK, &entry(&faults, id, &fault)),
        Err(failure) => error_response(&failure),
    }
}

/// `DELETE {PATH}/{id}`: removes one fault.
async fn remove(State(faults): State<Faults>, Path(id): Path<String>) -> Response<Body> {
    match find(&faults, &id) {
        Ok((id, _)) => {
            let removed = u8::from(faults.remove(id));
            json_response(StatusCode::OK, &json!({ "removed": removed }))
        }
        Err(failure) => error_response(&failure),
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

#[cfg(test)]
mod tests {
    use super::*;

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
