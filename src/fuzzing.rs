//! Entry points for the fuzz targets in `fuzz/`, compiled only with
//! `--cfg fuzzing` (as `cargo fuzz` builds) and hidden from the docs.
//!
//! Each function takes the fuzzer's raw bytes. None may panic on any input
//! except to report a broken invariant of this crate, which the fuzzer then
//! records as a crash:
//!
//! - [`template_parser`]: parsing a path template is deterministic, matching
//!   any path is safe, and whatever a template expands matches back to the
//!   same values;
//! - [`uri_expander`]: a resource name expanded onto the built-in route
//!   tables addresses exactly that name;
//! - [`response_decoders`]: decoding an Operation, a ListOperationsResponse
//!   or a `google.rpc.Status` from JSON either fails with an error or gives a
//!   message whose printed form parses back to itself;
//! - [`rest_errors`]: an HTTP error response always maps to an error code
//!   (never OK for a status outside 2xx), and the REST reply parser always
//!   answers.

use std::sync::LazyLock;

use prost::Message;

use crate::http_error::{code_for_http_status, error_from_response};
use crate::json::{self, ParseMode};
use crate::proto::longrunning::{ListOperationsResponse, Operation};
use crate::proto::rpc::{Code, Status};
use crate::routes::template::{PathTemplate, oracle};
use crate::routes::{ApiVersion, Routes, Rpc};
use crate::transport::json_reply::parse_reply;

/// Splits fuzzer input into at most `N` text fields at `\n` (missing fields
/// are empty); None when the input is not UTF-8.
fn fields<const N: usize>(data: &[u8]) -> Option<[&str; N]> {
    let text = std::str::from_utf8(data).ok()?;
    let mut parts = text.splitn(N, '\n');
    Some(std::array::from_fn(|_| parts.next().unwrap_or_default()))
}

/// Checks one successful expansion; panics on a violation.
fn check_expansion(template: &PathTemplate, value: &str, path: &str) {
    if let Err(violation) = oracle::check_expansion(template, value, path) {
        panic!("{violation}");
    }
}

/// Fuzz target `template_parser`: the input is a template, `\n`, a value,
/// `\n`, a raw request path.
pub fn template_parser(data: &[u8]) {
    let Some([text, value, path]) = fields::<3>(data) else {
        return;
    };
    let Ok(template) = PathTemplate::parse(text) else {
        return;
    };
    assert_eq!(
        PathTemplate::parse(template.as_str()).as_ref(),
        Ok(&template),
        "parsing is not deterministic"
    );
    if let Some(values) = template.matches(path) {
        let names: Vec<&str> = values.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, template.variables(), "{text} matched {path:?}");
        // A matched value expands back to a path the template matches with
        // the same value (not always the same path: escapes are normalised).
        if let [(_, value)] = values.as_slice()
            && let Ok(again) = template.expand(&|_| Some(value.clone()))
        {
            check_expansion(&template, value, &again);
        }
    }
    if let Ok(expanded) = template.expand(&|_| Some(value.to_owned())) {
        check_expansion(&template, value, &expanded);
    }
}

/// Every built-in route table, built once.
static ROUTE_TABLES: LazyLock<Vec<Routes>> = LazyLock::new(|| {
    ApiVersion::ALL
        .into_iter()
        .map(Routes::earth_engine)
        .chain([Routes::generic()])
        .collect()
});

/// Fuzz target `uri_expander`: the input is a resource name, expanded onto
/// every binding of every built-in route table.
pub fn uri_expander(data: &[u8]) {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    for routes in ROUTE_TABLES.iter() {
        for rpc in Rpc::ALL {
            for rule in routes.rules(rpc) {
                if let Ok(path) = rule.template.expand(&|_| Some(name.to_owned())) {
                    check_expansion(&rule.template, name, &path);
                }
            }
        }
    }
}

/// Parses `text` as `M` in both modes; for each success, prints the message
/// and checks that the print parses back to a message that prints the same.
fn round_trip<M: Message + Default>(text: &str, full_name: &str) {
    for mode in [ParseMode::Lenient, ParseMode::Strict] {
        let Ok(message) = json::parse_typed::<M>(text, full_name, mode) else {
            continue;
        };
        let printed = print(&message, full_name);
        let again = json::parse_typed::<M>(&printed.to_string(), full_name, ParseMode::Strict)
            .unwrap_or_else(|e| panic!("{full_name} printed as {printed} does not parse: {e}"));
        assert_eq!(
            print(&again, full_name),
            printed,
            "{full_name} changes when printed and parsed again"
        );
    }
}

/// A message printed as proto3 JSON; panics when it cannot be printed.
fn print<M: Message>(message: &M, full_name: &str) -> serde_json::Value {
    let dynamic = json::to_dynamic(message, full_name)
        .unwrap_or_else(|| panic!("a parsed {full_name} cannot be printed"));
    json::message_to_json(&dynamic)
}

/// Fuzz target `response_decoders`: the input is a response body, decoded as
/// each of the three JSON response types.
pub fn response_decoders(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    round_trip::<Operation>(text, "google.longrunning.Operation");
    round_trip::<ListOperationsResponse>(text, "google.longrunning.ListOperationsResponse");
    round_trip::<Status>(text, "google.rpc.Status");
    page_read_one_at_a_time(text);
}

/// A page read one operation at a time (as a listing reads it) is what the
/// whole-page reader reads, and fails where that one fails.
fn page_read_one_at_a_time(text: &str) {
    let whole = json::read_list_page(text, ParseMode::Lenient);
    let by_operation = json::read_page_by_operation(text);
    match (whole, by_operation) {
        (Ok(whole), Ok(by_operation)) => assert_eq!(whole, by_operation, "the pages differ"),
        (Err(whole), Err(by_operation)) => assert_eq!(whole, by_operation, "the errors differ"),
        (whole, by_operation) => panic!(
            "one reader refused what the other read: whole {:?}, one at a time {:?}",
            whole.err(),
            by_operation.err()
        ),
    }
}

/// Fuzz target `rest_errors`: the first two bytes are an HTTP status (big
/// endian), the rest the response body, given both to the REST error
/// mapping and to the REST reply parser.
pub fn rest_errors(data: &[u8]) {
    let (status, body) = match data {
        [high, low, body @ ..] => (u16::from_be_bytes([*high, *low]), body),
        _ => (0, data),
    };
    let error = error_from_response(status, body);
    if code_for_http_status(status) != Code::Ok {
        assert_ne!(error.code(), Code::Ok, "HTTP {status} mapped to OK");
    }
    let base = "http://127.0.0.1:9";
    let replies = [
        parse_reply::<Operation>(body, "google.longrunning.Operation", base).err(),
        parse_reply::<ListOperationsResponse>(
            body,
            "google.longrunning.ListOperationsResponse",
            base,
        )
        .err(),
        parse_reply::<()>(body, "google.protobuf.Empty", base).err(),
    ];
    for refused in replies.into_iter().flatten() {
        assert_eq!(refused.code(), Code::Internal, "{refused}");
    }
}
