//! Runs HTTP/JSON conformance vectors (format `lro-transcoding-oracle/1`)
//! through this crate's transcoder, proto3 JSON mapping and REST error
//! mapping, and checks the results.
//!
//! Each vector is a JSON object with a `kind`: `transcode` (HttpRules plus a
//! request, expecting a method, URI, query and body, or a refusal), `json`
//! (text to parse as a message and print back canonically) or `http_error`
//! (an HTTP status and body, expecting a canonical code). [`Conformance::run`]
//! returns the `actual` result in the same shape as `expected`;
//! [`Conformance::check`] compares it with `expected` and `alternatives`.
//!
//! ```
//! use eeops::conformance::Conformance;
//! use serde_json::json;
//!
//! let vector = json!({
//!     "id": "example", "kind": "transcode",
//!     "http_rules": [{"method": "GET", "uri": "/v1/{name=projects/*/operations/**}", "body": null}],
//!     "request_type": "google.longrunning.GetOperationRequest",
//!     "request": {"name": "projects/p/operations/a b"},
//!     "expected": {"method": "GET", "uri": "/v1/projects/p/operations/a%20b", "query_params": [], "body": null},
//! });
//! let runner = Conformance::new();
//! let actual = runner.run(&vector);
//! assert!(Conformance::check(&vector, &actual));
//! ```

use prost::Message;
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage};
use prost_types::FileDescriptorSet;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::http_error::error_from_response;
use crate::json::{self, ParseMode};
use crate::proto::rpc::Code;
use crate::routes::HttpRule;
use crate::routes::transcode::transcode;

/// Runs vectors; knows every message type of this crate plus any added with
/// [`Conformance::with_descriptors`].
#[derive(Clone, Debug)]
pub struct Conformance {
    pool: DescriptorPool,
}

impl Default for Conformance {
    fn default() -> Self {
        Self::new()
    }
}

impl Conformance {
    /// A runner over this crate's message types.
    pub fn new() -> Self {
        Self {
            pool: json::pool().clone(),
        }
    }

    /// Adds message types (an encoded `FileDescriptorSet`), such as a
    /// test-only request type.
    pub fn with_descriptors(mut self, encoded_set: &[u8]) -> Result<Self> {
        let invalid = |e: String| {
            Error::new(
                Code::InvalidArgument,
                format!("invalid descriptor set: {e}"),
            )
        };
        let set = FileDescriptorSet::decode(encoded_set).map_err(|e| invalid(e.to_string()))?;
        self.pool
            .add_file_descriptor_set(set)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(self)
    }

    /// The `actual` result of one vector, in the shape of its `expected`.
    pub fn run(&self, vector: &Value) -> Value {
        match vector["kind"].as_str() {
            Some("transcode") => self.run_transcode(vector),
            Some("json") => run_json(vector),
            Some("http_error") => run_http_error(vector),
            other => json!({"error": true, "reason": format!("unknown vector kind {other:?}")}),
        }
    }

    fn run_transcode(&self, vector: &Value) -> Value {
        let refused = |reason: String| json!({"error": true, "reason": reason});
        let rules: std::result::Result<Vec<HttpRule>, String> = vector["http_rules"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|rule| {
                HttpRule::new(
                    rule["method"].as_str().unwrap_or_default(),
                    rule["uri"].as_str().unwrap_or_default(),
                    rule["body"].as_str(),
                )
            })
            .collect();
        let rules = match rules {
            Ok(rules) => rules,
            Err(reason) => return refused(reason),
        };
        let type_name = vector["request_type"].as_str().unwrap_or_default();
        let Some(descriptor) = self.pool.get_message_by_name(type_name) else {
            return refused(format!("unknown request type {type_name}"));
        };
        let options = DeserializeOptions::new().deny_unknown_fields(true);
        let request = match DynamicMessage::deserialize_with_options(
            descriptor,
            &vector["request"],
            &options,
        ) {
            Ok(request) => request,
            Err(e) => return refused(format!("invalid request: {e}")),
        };
        match transcode(&rules, &request) {
            Ok(parts) => json!({
                "method": parts.method.as_str(),
                "uri": parts.path,
                "query_params": parts.query,
                "query_string": parts.query_string(),
                "body": parts.body,
            }),
            Err(e) => refused(e.to_string()),
        }
    }

    /// True when `actual` equals the vector's `expected` or one of its
    /// `alternatives` (numbers compared by value, key order ignored).
    pub fn check(vector: &Value, actual: &Value) -> bool {
        let empty = Vec::new();
        std::iter::once(&vector["expected"])
            .chain(vector["alternatives"].as_array().unwrap_or(&empty))
            .any(|expected| matches_expected(expected, actual))
    }
}

fn run_json(vector: &Value) -> Value {
    let mode = if vector["parse_mode"] == "strict" {
        ParseMode::Strict
    } else {
        ParseMode::Lenient
    };
    let type_name = vector["message_type"].as_str().unwrap_or_default();
    let input = vector["input"].as_str().unwrap_or_default();
    // The Operations messages go through the reader the transports use; the
    // rest through the descriptor-driven one.
    let parsed = match type_name {
        "google.longrunning.Operation" => as_dynamic(json::read_operation(input, mode), type_name),
        "google.longrunning.ListOperationsResponse" => {
            as_dynamic(json::read_list_page(input, mode), type_name)
        }
        "google.rpc.Status" => as_dynamic(json::read_status(input, mode), type_name),
        _ => json::descriptor(type_name)
            .and_then(|descriptor| json::parse_text(&descriptor, input, mode)),
    };
    match parsed {
        Ok(message) => json!({"canonical": json::message_to_json(&message)}),
        Err(e) => json!({"error": true, "reason": e.to_string()}),
    }
}

fn as_dynamic<M: prost::Message>(
    read: Result<M, json::JsonError>,
    type_name: &str,
) -> Result<prost_reflect::DynamicMessage, json::JsonError> {
    let message = read?;
    json::to_dynamic(&message, type_name)
        .ok_or_else(|| json::JsonError::at_root(format!("unknown message type {type_name}")))
}

fn run_http_error(vector: &Value) -> Value {
    let status = vector["http_status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(0);
    let error = error_from_response(
        status,
        vector["body"].as_str().unwrap_or_default().as_bytes(),
    );
    json!({"code": error.code().as_str_name(), "message": error.message()})
}

fn matches_expected(expected: &Value, actual: &Value) -> bool {
    if expected.get("error").is_some() {
        return actual.get("error").is_some();
    }
    if actual.get("error").is_some() {
        return false;
    }
    // Every key of `expected` must match; `actual` may say more (a reason).
    expected.as_object().is_some_and(|fields| {
        fields
            .iter()
            .all(|(key, want)| actual.get(key).is_some_and(|got| same_json(want, got)))
    })
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, value)| y.get(key).is_some_and(|other| same_json(value, other)))
        }
        _ => a == b,
    }
}
