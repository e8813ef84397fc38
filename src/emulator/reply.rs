//! The HTTP replies the emulator's REST front end, its fault endpoint and
//! its discovery routes share: JSON bodies, Google's error body, the 401
//! with a Bearer challenge, 405 naming the methods allowed, and reading a
//! request body within a limit.

use axum::body::Body;
use bytes::Bytes;
use http::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, Response, StatusCode};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde_json::{Map, Value, json};

use super::auth::{self, RequiredToken};
use crate::error::Error;
use crate::http_error::http_status_for_code;
use crate::json::any_to_json;
use crate::proto::rpc::Code;

/// The largest request body read; larger ones are refused with 413.
pub(crate) const MAX_BODY_BYTES: usize = 1 << 20;

/// The content type of every reply.
pub(super) const JSON_UTF8: &str = "application/json; charset=UTF-8";

/// The challenge sent with a 401 when the emulator requires a token.
const BEARER_CHALLENGE: &str = "Bearer realm=\"eeops emulator\"";

/// A request that cannot be answered with a result: the HTTP status and the
/// error that goes in the body.
pub(super) struct Failure {
    pub(super) status: StatusCode,
    pub(super) error: Error,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let status = StatusCode::from_u16(http_status_for_code(error.code()))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self { status, error }
    }
}

/// A JSON reply.
pub(super) fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    response
}

/// Google's error body: `code` is the HTTP status, `status` the code's name.
fn error_to_json(status: StatusCode, error: &Error) -> Value {
    let mut inner = Map::new();
    inner.insert("code".to_owned(), json!(status.as_u16()));
    inner.insert("message".to_owned(), json!(error.message()));
    inner.insert("status".to_owned(), json!(error.code().as_str_name()));
    if !error.details().is_empty() {
        inner.insert(
            "details".to_owned(),
            error
                .details()
                .iter()
                .map(|detail| any_to_json(&detail.to_any()))
                .collect(),
        );
    }
    json!({ "error": inner })
}

/// Google's error body with the failure's HTTP status.
pub(super) fn error_response(failure: &Failure) -> Response<Body> {
    json_response(
        failure.status,
        &error_to_json(failure.status, &failure.error),
    )
}

/// Checks `authorization` against the required token, if there is one: a
/// request without it gets this refusal, 401 with Google's error body and
/// a Bearer challenge.
pub(super) fn token_refusal(
    required: Option<&RequiredToken>,
    headers: &HeaderMap,
) -> Option<Response<Body>> {
    let presented = headers
        .get_all(AUTHORIZATION)
        .iter()
        .map(HeaderValue::as_bytes);
    auth::check(required, presented).err().map(|error| {
        let mut response = error_response(&Failure {
            status: StatusCode::UNAUTHORIZED,
            error,
        });
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static(BEARER_CHALLENGE));
        response
    })
}

/// 405 naming the methods the path takes.
pub(super) fn not_allowed(method: &Method, allowed: &'static str) -> Response<Body> {
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

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`].
pub(super) async fn read_body(body: Body) -> Result<Bytes, Failure> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(Failure {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            error: Error::new(
                Code::InvalidArgument,
                format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            ),
        }),
        Err(error) => Err(Error::new(
            Code::InvalidArgument,
            format!("cannot read the request body: {error}"),
        )
        .into()),
    }
}
