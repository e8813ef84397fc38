//! REST error responses to [`Error`]: the same error a gRPC trailer with
//! the same meaning would give.
//!
//! Accepted shapes: Google's `{"error": {code, message, status, details}}`
//! (where `code` is the HTTP status), the same wrapped in a JSON array, a
//! bare `google.rpc.Status` (`code` is then a gRPC code) as Envoy and
//! grpc-gateway send, and anything else, such as a proxy's HTML page, which
//! keeps its HTTP status and a bounded snippet.

use serde_json::Value;

use crate::error::{Detail, Error};
use crate::json::{ParseMode, parse_any};
use crate::proto::rpc::Code;

/// The most of a non-JSON body quoted in the message.
const SNIPPET_CHARS: usize = 200;

/// The canonical code for an HTTP status, as Google's REST front ends map it.
pub(crate) fn code_for_http_status(status: u16) -> Code {
    match status {
        200..=299 => Code::Ok,
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        405 | 408 => Code::FailedPrecondition,
        409 => Code::Aborted,
        416 => Code::OutOfRange,
        429 => Code::ResourceExhausted,
        499 => Code::Cancelled,
        500 | 502 => Code::Internal,
        501 => Code::Unimplemented,
        503 => Code::Unavailable,
        504 => Code::DeadlineExceeded,
        _ => Code::Unknown,
    }
}

/// The HTTP status a server answers an error code with.
#[cfg(any(test, feature = "emulator"))]
pub(crate) fn http_status_for_code(code: Code) -> u16 {
    match code {
        Code::Ok => 200,
        Code::Cancelled => 499,
        Code::Unknown | Code::Internal | Code::DataLoss => 500,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
        Code::DeadlineExceeded => 504,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::PermissionDenied => 403,
        Code::ResourceExhausted => 429,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::Unauthenticated => 401,
    }
}

/// The error an HTTP error response stands for.
pub(crate) fn error_from_response(status: u16, body: &[u8]) -> Error {
    let from_status = code_for_http_status(status);
    let json = serde_json::from_slice::<Value>(body).ok();
    let json = match json {
        Some(Value::Array(items)) => items.into_iter().next(),
        other => other,
    };
    match json {
        Some(Value::Object(mut object)) => match object.remove("error") {
            Some(Value::Object(inner)) => google_error(&inner, from_status),
            _ if object.contains_key("code") || object.contains_key("message") => {
                bare_status(&object, from_status)
            }
            _ => snippet_error(status, from_status, body),
        },
        _ => snippet_error(status, from_status, body),
    }
}

/// Google's error object: `status` names the code; `code` is the HTTP status.
/// A `status` of `OK` in an error response says nothing, like a bare
/// status's code 0: the HTTP status decides.
fn google_error(inner: &serde_json::Map<String, Value>, from_status: Code) -> Error {
    let code = inner
        .get("status")
        .and_then(Value::as_str)
        .and_then(Code::from_str_name)
        .filter(|code| *code != Code::Ok)
        .unwrap_or(from_status);
    with_details(
        Error::new(code, text(inner.get("message"))),
        inner.get("details"),
    )
}

/// A bare `google.rpc.Status`: `code` is a gRPC code.
fn bare_status(object: &serde_json::Map<String, Value>, from_status: Code) -> Error {
    let code = object
        .get("code")
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
        .and_then(|n| Code::try_from(n).ok())
        .filter(|code| *code != Code::Ok)
        .unwrap_or(from_status);
    with_details(
        Error::new(code, text(object.get("message"))),
        object.get("details"),
    )
}

fn with_details(error: Error, details: Option<&Value>) -> Error {
    let Some(Value::Array(details)) = details else {
        return error;
    };
    details
        .iter()
        .filter_map(|detail| parse_any(detail, ParseMode::Lenient, "error.details").ok())
        .map(Detail::from_any)
        .fold(error, Error::with_detail)
}

fn text(value: Option<&Value>) -> String {
    value.and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn snippet_error(status: u16, code: Code, body: &[u8]) -> Error {
    let text = String::from_utf8_lossy(body);
    let flattened: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(SNIPPET_CHARS)
        .collect();
    let flattened = flattened.split_whitespace().collect::<Vec<_>>().join(" ");
    let message = if flattened.is_empty() {
        format!("HTTP {status} with an empty body")
    } else if text.chars().count() > SNIPPET_CHARS {
        format!("HTTP {status}: {flattened}…")
    } else {
        format!("HTTP {status}: {flattened}")
    };
    Error::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_pages_keep_their_status_and_a_bounded_snippet() {
        let page = format!("<html><body>{}</body></html>", "Bad Gateway ".repeat(100));
        let error = error_from_response(502, page.as_bytes());
        assert_eq!(error.code(), Code::Internal);
        assert!(
            error
                .message()
                .starts_with("HTTP 502: <html><body>Bad Gateway")
        );
        assert!(error.message().chars().count() < SNIPPET_CHARS + 20);
    }

    #[test]
    fn details_are_decoded_from_google_error_bodies() {
        let body = br#"{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED","details":[
            {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"2.500s"},
            {"@type":"type.googleapis.com/example.Unknown","x":1}]}}"#;
        let error = error_from_response(429, body);
        assert_eq!(error.code(), Code::ResourceExhausted);
        assert_eq!(
            error.retry_delay(),
            Some(std::time::Duration::from_millis(2500))
        );
        assert_eq!(error.details().len(), 2);
    }

    #[test]
    fn codes_and_statuses_round_trip() {
        for number in 1..=16 {
            let code = Code::try_from(number).expect("a code");
            let back = code_for_http_status(http_status_for_code(code));
            // Several codes share a status; the status maps back to one of them.
            assert_eq!(
                http_status_for_code(back),
                http_status_for_code(code),
                "{code:?}"
            );
        }
    }
}

/// Property tests: the mapping is total over statuses and bodies.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// Bodies shaped like the error responses the mapping reads, with
    /// arbitrary values where it looks: `status` names (OK included),
    /// codes out of range, details that are not Anys.
    fn json_body() -> impl Strategy<Value = Vec<u8>> {
        let status = prop_oneof![
            Just("OK".to_owned()),
            Just("NOT_FOUND".to_owned()),
            Just("UNAVAILABLE".to_owned()),
            "\\PC{0,12}",
        ];
        let code = prop_oneof![
            any::<i64>().prop_map(Value::from),
            (-2i64..20).prop_map(Value::from),
            any::<f64>().prop_map(|x| json!(x)),
            "\\PC{0,6}".prop_map(Value::from),
            Just(Value::Null),
        ];
        let detail = prop_oneof![
            Just(json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"})),
            Just(json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": 5})),
            Just(json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": 1})),
            Just(json!({"@type": "nope"})),
            Just(json!({"@type": "type.googleapis.com/x.Unknown", "a": [1, {}]})),
            Just(json!([])),
            Just(json!("text")),
            Just(json!({})),
        ];
        (
            status,
            code,
            prop::collection::vec(detail, 0..4),
            "\\PC{0,20}",
            0..4u8,
        )
            .prop_map(|(status, code, details, message, shape)| {
                let inner =
                    json!({"code": code, "status": status, "message": message, "details": details});
                let body = match shape {
                    0 => json!({ "error": inner }),
                    1 => json!([{ "error": inner }]),
                    2 => inner,
                    _ => json!({ "error": status }),
                };
                body.to_string().into_bytes()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// (e) Arbitrary bytes under any status: never a panic, always an
        /// error code, never OK for a status that is not 2xx, and a message
        /// bounded by the snippet length.
        #[test]
        fn arbitrary_bodies_always_map(status in any::<u16>(), body in prop::collection::vec(any::<u8>(), 0..400)) {
            let error = error_from_response(status, &body);
            if !(200..=299).contains(&status) {
                prop_assert_ne!(error.code(), Code::Ok);
            }
            if serde_json::from_slice::<Value>(&body).is_err() {
                prop_assert_eq!(error.code(), code_for_http_status(status));
                prop_assert!(error.message().chars().count() <= SNIPPET_CHARS + 20);
            }
        }

        /// (e) Error-shaped JSON with hostile values: never a panic, never
        /// OK for a status that is not 2xx.
        #[test]
        fn error_shaped_bodies_always_map(status in prop_oneof![any::<u16>(), 400u16..600], body in json_body()) {
            let error = error_from_response(status, &body);
            if !(200..=299).contains(&status) {
                prop_assert_ne!(error.code(), Code::Ok, "{}", String::from_utf8_lossy(&body));
            }
        }
    }

    #[test]
    fn an_ok_status_name_in_an_error_body_keeps_the_http_code() {
        let body = br#"{"error":{"code":500,"message":"odd","status":"OK"}}"#;
        assert_eq!(error_from_response(500, body).code(), Code::Internal);
        let body = br#"[{"error":{"code":404,"message":"odd","status":"OK"}}]"#;
        assert_eq!(error_from_response(404, body).code(), Code::NotFound);
    }
}
