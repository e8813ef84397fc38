//! The emulator's REST front end: Google's HTTP/JSON dialect of the
//! Operations API over the same store as the gRPC side.
//!
//! Requests are matched against the shared route table (Earth Engine's
//! bindings under v1, v1beta and v1alpha, then the generic ones of
//! `google/longrunning/operations.proto`), List before Get. Replies are
//! proto3 JSON; errors are Google's `{"error": {code, message, status,
//! details}}` with the HTTP status of their code.
//!
//! An Operations call is checked for the required token, routed, then
//! handed to the faults in force, before its query and body are read and
//! the store is touched. It is the fallback of the emulator's router: the
//! gRPC services, the fault endpoint and the discovery routes are routes
//! of their own.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use prost::Message;
use serde_json::Map;
use tokio::time::Instant;

use super::auth::RequiredToken;
use super::faults::{self, Faults, Injected, Outcome};
use super::reply::{Failure, JSON_UTF8, error_response, read_body, token_refusal};
use super::state::Store;
use super::system_parameters::SystemParameters;
use crate::error::{Detail, Error};
use crate::json::{ParseMode, Written, parse_typed};
use crate::percent;
use crate::proto::longrunning::{CancelOperationRequest, WaitOperationRequest};
use crate::proto::rpc::bad_request::FieldViolation;
use crate::proto::rpc::{BadRequest, Code};
use crate::routes::{ApiVersion, HttpRule, Routes, Rpc};

/// The most of a request path quoted in a message or a log line.
const QUOTED_PATH_CHARS: usize = 256;

/// Header selecting the fields of a reply, as the `fields` parameter does.
const FIELD_MASK_HEADER: &str = "x-goog-fieldmask";

/// Header with which a POST stands for another method.
const METHOD_OVERRIDE_HEADER: &str = "x-http-method-override";

/// Header in which REST callers send their deadline, in seconds.
const SERVER_TIMEOUT_HEADER: &str = "x-server-timeout";

/// Adds the REST front end to `router` as its fallback: every request no
/// other route (that is, no gRPC service) takes is served as REST. With a
/// required token, every Operations call must carry it; `faults` apply to
/// the Operations calls.
pub(crate) fn with_rest_fallback(
    router: axum::Router,
    store: Arc<Store>,
    required_token: Option<RequiredToken>,
    faults: Faults,
) -> axum::Router {
    let rest = Arc::new(RestService::new(store, required_token, faults));
    router.fallback(move |request: Request<Body>| {
        let rest = Arc::clone(&rest);
        async move { rest.handle(request).await }
    })
}

/// Serves the HTTP/JSON bindings of the Operations RPCs from the store.
pub(crate) struct RestService {
    store: Arc<Store>,
    routes: Routes,
    required_token: Option<RequiredToken>,
    faults: Faults,
}

/// The binding a request matched.
struct Matched<'a> {
    rpc: Rpc,
    rule: &'a HttpRule,
    /// The captured resource name (the parent, for ListOperations).
    name: String,
}

/// The fields of ListOperationsRequest that come in the query string.
#[derive(Debug, Default, PartialEq, Eq)]
struct ListQuery {
    filter: String,
    page_size: i32,
    page_token: String,
}

impl RestService {
    /// A front end over `store` with every Earth Engine version's bindings
    /// and the generic ones, requiring `required_token` if there is one and
    /// applying `faults`.
    pub(crate) fn new(
        store: Arc<Store>,
        required_token: Option<RequiredToken>,
        faults: Faults,
    ) -> Self {
        let routes = Routes::earth_engine(ApiVersion::V1)
            .and(&Routes::earth_engine(ApiVersion::V1beta))
            .and(&Routes::earth_engine(ApiVersion::V1alpha))
            .and(&Routes::generic());
        debug_assert_eq!(routes.problem(), None, "the built-in routes are valid");
        Self {
            store,
            routes,
            required_token,
            faults,
        }
    }

    /// Answers one request; never fails (errors become JSON error replies).
    pub(crate) async fn handle(&self, request: Request<Body>) -> Response<Body> {
        let method = request.method().clone();
        let path = quoted_path(request.uri().path());
        let version = request.version();
        let started = Instant::now();
        let response = if is_grpc(request.headers()) {
            // A gRPC call to a service this server does not have: answer in
            // gRPC's terms, as the gRPC server would have.
            tonic::Status::unimplemented(format!("unknown gRPC service or method {path}"))
                .into_http()
        } else if let Some(refused) = token_refusal(self.required_token.as_ref(), request.headers())
        {
            refused
        } else {
            self.serve(request).await
        };
        tracing::debug!(
            %method,
            path,
            ?version,
            status = response.status().as_u16(),
            elapsed = ?started.elapsed(),
            "REST request"
        );
        response
    }

    /// Routes the request, applies the faults in force to it, then runs its
    /// RPC unless a fault answered instead.
    async fn serve(&self, request: Request<Body>) -> Response<Body> {
        let matched = match effective_method(&request)
            .and_then(|method| self.route(&method, request.uri().path()))
        {
            Ok(matched) => matched,
            Err(error) => return error_response(&error.into()),
        };
        if let Some(injection) = self.faults.select(matched.rpc) {
            if !injection.latency.is_zero() {
                tokio::time::sleep(injection.latency).await;
            }
            match injection.outcome {
                Outcome::Proceed => {}
                Outcome::Fail(injected) => return injected_response(injected),
                Outcome::Drop => return dropped_response(),
            }
        }
        match self.dispatch(matched, request).await {
            Ok(text) => text_response(StatusCode::OK, text),
            Err(failure) => error_response(&failure),
        }
    }

    /// Runs the RPC of a routed request; the reply is written as its system
    /// parameters ask.
    async fn dispatch(
        &self,
        Matched { rpc, rule, name }: Matched<'_>,
        request: Request<Body>,
    ) -> Result<String, Failure> {
        let (parts, body) = request.into_parts();
        let (query, mut system) = parse_query(parts.uri.query().unwrap_or_default(), rpc)?;
        if let Some(mask) = parts.headers.get(FIELD_MASK_HEADER) {
            let mask = mask.to_str().map_err(|_| {
                invalid(
                    FIELD_MASK_HEADER,
                    "X-Goog-FieldMask is not ASCII text".to_owned(),
                )
            })?;
            system.take_field_mask(mask)?;
        }
        let body = match rule.body {
            Some(_) => read_body(body).await?,
            // A body on a binding without one (such as `{}` on a GET) is
            // ignored, as Google's front ends do.
            None => Bytes::new(),
        };
        let enums = system.enums;
        let reply = match rpc {
            Rpc::ListOperations => {
                let page =
                    self.store
                        .list(&name, &query.filter, query.page_size, &query.page_token)?;
                return Ok(system.render(&Written(&page, enums)));
            }
            Rpc::GetOperation => self.store.get(&name)?,
            Rpc::DeleteOperation => {
                self.store.delete(&name)?;
                return Ok(system.render(&Map::new()));
            }
            Rpc::CancelOperation => {
                // Only the form is checked: the path names the operation.
                parse_body::<CancelOperationRequest>(&body, rpc)?;
                self.store.cancel(&name)?;
                return Ok(system.render(&Map::new()));
            }
            Rpc::WaitOperation => {
                let request = parse_body::<WaitOperationRequest>(&body, rpc)?;
                let timeout = match request.and_then(|r| r.timeout).map(Duration::try_from) {
                    None => None,
                    Some(Ok(timeout)) => Some(timeout),
                    Some(Err(_)) => {
                        return Err(invalid(
                            "timeout",
                            "timeout must be a non-negative duration".to_owned(),
                        )
                        .into());
                    }
                };
                let deadline = deadline(&parts.headers);
                self.store.wait(&name, timeout, deadline).await?
            }
        };
        Ok(system.render(&Written(&reply, enums)))
    }

    /// The first binding, in server order, whose method and template match
    /// and that captures the resource name.
    fn route(&self, method: &Method, path: &str) -> Result<Matched<'_>, Error> {
        // Templates are matched for the request's own method first: the
        // others only matter to say which methods the path would take.
        let found = self
            .routes
            .server_order()
            .filter(|(_, rule)| rule.method == method.as_str())
            .find_map(|(rpc, rule)| {
                Some(Matched {
                    rpc,
                    rule,
                    name: captured_name(rule, path)?,
                })
            });
        if let Some(matched) = found {
            return Ok(matched);
        }
        let mut other_methods: Vec<&str> = Vec::new();
        for (_, rule) in self.routes.server_order() {
            if captured_name(rule, path).is_some() && !other_methods.contains(&rule.method.as_str())
            {
                other_methods.push(rule.method.as_str());
            }
        }
        Err(no_route(method, path, &other_methods))
    }
}

/// The resource name `rule`'s template captures from `path`, if it matches.
fn captured_name(rule: &HttpRule, path: &str) -> Option<String> {
    rule.template
        .matches(path)?
        .into_iter()
        .find_map(|(field, value)| (field == "name").then_some(value))
}

/// Whether the request is a gRPC call (`application/grpc`, with or without
/// a `+format` suffix).
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            let value = value.trim_start();
            value
                .get(..16)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case("application/grpc"))
                && matches!(value.as_bytes().get(16), None | Some(b'+' | b';'))
        })
}

/// The method a request stands for: a POST's `X-HTTP-Method-Override`
/// (GET, DELETE, ... for clients that can only send POST), else its own.
fn effective_method(request: &Request<Body>) -> Result<Method, Error> {
    let Some(value) = request.headers().get(METHOD_OVERRIDE_HEADER) else {
        return Ok(request.method().clone());
    };
    let wanted = value
        .to_str()
        .ok()
        .and_then(|text| Method::from_bytes(text.trim().to_ascii_uppercase().as_bytes()).ok());
    match wanted {
        Some(method) if request.method() == Method::POST => Ok(method),
        Some(method) if method == request.method() => Ok(method),
        Some(method) => Err(invalid(
            "X-HTTP-Method-Override",
            format!(
                "X-HTTP-Method-Override: {method} on a {} request: only a POST may stand for another method",
                request.method()
            ),
        )),
        None => Err(invalid(
            "X-HTTP-Method-Override",
            format!("X-HTTP-Method-Override {value:?} is not an HTTP method"),
        )),
    }
}

/// NOT_FOUND for a request no binding takes.
fn no_route(method: &Method, path: &str, other_methods: &[&str]) -> Error {
    let path = quoted_path(path);
    let mut message = format!(
        "No Operations method is bound to {method} {path}: expected a path such as \
         /v1/projects/{{project}}/operations[/{{id}}[:cancel|:wait]]"
    );
    if !other_methods.is_empty() {
        message.push_str(&format!(
            " (this path is bound for {})",
            other_methods.join(", ")
        ));
    }
    Error::new(Code::NotFound, message)
}

/// The path for messages and logs: at most [`QUOTED_PATH_CHARS`] characters.
fn quoted_path(path: &str) -> String {
    match path.char_indices().nth(QUOTED_PATH_CHARS) {
        Some((cut, _)) => format!("{}…", &path[..cut]),
        None => path.to_owned(),
    }
}

/// INVALID_ARGUMENT with a BadRequest detail naming the field.
fn invalid(field: &str, message: String) -> Error {
    Error::new(Code::InvalidArgument, message.clone()).with_detail(Detail::BadRequest(BadRequest {
        field_violations: vec![FieldViolation {
            field: field.to_owned(),
            description: message,
            reason: String::new(),
            localized_message: None,
        }],
    }))
}

/// Parses the query string: system parameters for every RPC, and the
/// request's own fields for ListOperations (the only RPC with fields outside
/// its path and body).
fn parse_query(query: &str, rpc: Rpc) -> Result<(ListQuery, SystemParameters), Error> {
    let mut list = ListQuery::default();
    let mut system = SystemParameters::default();
    let mut seen: HashSet<&'static str> = HashSet::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent::decode_query(raw_key).ok_or_else(|| {
            invalid(
                raw_key,
                format!(
                    "query parameter name {:?} is not valid percent-encoded UTF-8",
                    quoted_path(raw_key)
                ),
            )
        })?;
        let value = percent::decode_query(raw_value).ok_or_else(|| {
            invalid(
                &key,
                format!("the value of query parameter {key:?} is not valid percent-encoded UTF-8"),
            )
        })?;
        if system.take(&key, &value)? {
            continue;
        }
        let field = match (rpc, key.as_str()) {
            (Rpc::ListOperations, "filter") => "filter",
            (Rpc::ListOperations, "pageSize" | "page_size") => "page_size",
            (Rpc::ListOperations, "pageToken" | "page_token") => "page_token",
            (Rpc::ListOperations, "returnPartialSuccess" | "return_partial_success") => {
                "return_partial_success"
            }
            _ => {
                return Err(invalid(
                    &key,
                    format!(
                        "unknown query parameter {:?}: {} has no such field outside its path and body",
                        quoted_path(&key),
                        rpc.name()
                    ),
                ));
            }
        };
        if !seen.insert(field) {
            return Err(invalid(
                field,
                format!("query parameter {key:?} is given more than once (as field {field})"),
            ));
        }
        match field {
            "filter" => list.filter = value,
            "page_size" => {
                list.page_size = value.parse().map_err(|_| {
                    invalid(
                        "page_size",
                        format!("query parameter {key:?} must be a 32-bit integer, not {value:?}"),
                    )
                })?;
            }
            "page_token" => list.page_token = value,
            // Every operation is reachable, so partial success changes
            // nothing; the value must still be a boolean.
            _ => {
                if value != "true" && value != "false" {
                    return Err(invalid(
                        field,
                        format!("query parameter {key:?} must be true or false, not {value:?}"),
                    ));
                }
            }
        }
    }
    Ok((list, system))
}

/// Parses a `*` body: nothing (or only white space) is no body, otherwise it
/// must be the request message as a JSON object. Unknown fields are ignored,
/// as the path carries the one field (`name`) that matters.
fn parse_body<M: Message + Default>(body: &[u8], rpc: Rpc) -> Result<Option<M>, Error> {
    let text = std::str::from_utf8(body).map_err(|_| {
        invalid(
            "body",
            format!("the {} request body is not UTF-8 text", rpc.name()),
        )
    })?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let full_name = format!("google.longrunning.{}Request", rpc.name());
    parse_typed::<M>(text, &full_name, ParseMode::Lenient)
        .map(Some)
        .map_err(|problem| {
            invalid(
                "body",
                format!("invalid {} request body: {problem}", rpc.name()),
            )
        })
}

/// The caller's deadline from `X-Server-Timeout` (seconds, possibly
/// fractional), if it sent one that parses.
fn deadline(headers: &HeaderMap) -> Option<Instant> {
    let raw = headers.get(SERVER_TIMEOUT_HEADER)?.to_str().ok()?;
    let seconds: f64 = raw.trim().parse().ok()?;
    let timeout = Duration::try_from_secs_f64(seconds).ok()?;
    Instant::now().checked_add(timeout)
}

/// An injected error: its HTTP status, Google's error body (whose `status`
/// is the error's code) and, if asked for, `Retry-After` in seconds.
fn injected_response(injected: Injected) -> Response<Body> {
    let Injected {
        error,
        http_status,
        retry_after_secs,
    } = injected;
    let status = StatusCode::from_u16(http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = error_response(&Failure { status, error });
    if let Some(seconds) = retry_after_secs {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A reply cut off: 200 with a `Content-Length` larger than the part of the
/// JSON body that is sent before the connection (on HTTP/2, the stream)
/// is broken.
fn dropped_response() -> Response<Body> {
    let partial = Bytes::from_static(b"{\n  \"name\": \"projects/");
    let promised = partial.len() as u64 + u64::from(faults::DROPPED_BYTES);
    let mut response = Response::new(Body::new(faults::cut_off(partial)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(promised));
    response
}

/// A reply of JSON text, written already.
fn text_response(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Enums;

    fn list(query: &str) -> Result<ListQuery, Error> {
        parse_query(query, Rpc::ListOperations).map(|(list, _)| list)
    }

    #[test]
    fn list_parameters_are_decoded_under_both_names() {
        let parsed = list("filter=metadata.type+%3D+%22A%22&page_size=7&pageToken=abc")
            .expect("a valid query");
        assert_eq!(
            parsed,
            ListQuery {
                filter: "metadata.type = \"A\"".into(),
                page_size: 7,
                page_token: "abc".into(),
            }
        );
        assert_eq!(list("").expect("empty query"), ListQuery::default());
        assert_eq!(
            list("&&filter=&").expect("empty pieces"),
            ListQuery::default()
        );
        assert!(list("alt=json&prettyPrint=false&%24.xgafv=2&returnPartialSuccess=true").is_ok());
        let (_, system) = parse_query(
            "%24alt=json%3Benum-encoding%3Dint&%24prettyPrint=false&quotaUser=u&key=k&%24fields=name",
            Rpc::GetOperation,
        )
        .expect("system parameters on any method");
        assert_eq!(system.enums, Enums::Numbers);
    }

    #[test]
    fn bad_parameters_are_named() {
        for (query, named) in [
            ("pageSize=ten", "pageSize"),
            ("pageSize=", "pageSize"),
            ("pageSize=99999999999", "pageSize"),
            ("alt=proto", "alt"),
            ("$alt=json%3Benum-encoding%3Dbig", "$alt"),
            ("%24callback=f", "$callback"),
            ("fields=a(b", "fields"),
            ("alt=json&%24alt=json", "$alt"),
            ("colour=red", "colour"),
            ("pageSize=1&page_size=2", "page_size"),
            ("filter=%ZZ", "filter"),
            ("filter=%C3%28", "filter"),
            ("returnPartialSuccess=maybe", "returnPartialSuccess"),
        ] {
            let error = list(query).expect_err(query);
            assert_eq!(error.code(), Code::InvalidArgument, "{query}");
            assert!(
                error.message().contains(named),
                "{query}: {}",
                error.message()
            );
        }
        let get = parse_query("filter=x", Rpc::GetOperation).expect_err("Get has no filter");
        assert!(get.message().contains("GetOperation"));
    }

    #[test]
    fn bodies_must_be_empty_or_an_object() {
        let none = parse_body::<CancelOperationRequest>(b" \n", Rpc::CancelOperation);
        assert_eq!(none.expect("blank body"), None);
        assert!(parse_body::<CancelOperationRequest>(b"{}", Rpc::CancelOperation).is_ok());
        for bad in [&b"[]"[..], b"{", b"null", b"\xff", b"{} {}"] {
            let error = parse_body::<CancelOperationRequest>(bad, Rpc::CancelOperation)
                .expect_err("a bad body");
            assert_eq!(error.code(), Code::InvalidArgument);
        }
        let wait = parse_body::<WaitOperationRequest>(br#"{"timeout":"3.5s"}"#, Rpc::WaitOperation)
            .expect("a valid wait body")
            .and_then(|r| r.timeout);
        assert_eq!(
            wait,
            Some(prost_types::Duration {
                seconds: 3,
                nanos: 500_000_000
            })
        );
    }

    #[test]
    fn grpc_calls_are_told_apart_by_content_type() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            is_grpc(&headers)
        };
        assert!(with("application/grpc"));
        assert!(with("application/grpc+proto"));
        assert!(with("Application/GRPC; charset=x"));
        assert!(!with("application/grpc-web"));
        assert!(!with("application/json"));
        assert!(!is_grpc(&HeaderMap::new()));
    }

    #[test]
    fn long_paths_are_cut_on_a_character_boundary() {
        let path = "é".repeat(QUOTED_PATH_CHARS + 10);
        let quoted = quoted_path(&path);
        assert_eq!(quoted.chars().count(), QUOTED_PATH_CHARS + 1);
    }

    #[test]
    fn server_timeout_header_is_read_in_seconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(deadline(&headers), None);
        headers.insert(SERVER_TIMEOUT_HEADER, HeaderValue::from_static("2.5"));
        let before = Instant::now();
        let at = deadline(&headers).expect("a deadline");
        assert!(at >= before + Duration::from_millis(2500));
        for bad in ["-1", "NaN", "inf", "soon"] {
            headers.insert(SERVER_TIMEOUT_HEADER, HeaderValue::from_static(bad));
            assert_eq!(deadline(&headers), None, "{bad}");
        }
    }
}
