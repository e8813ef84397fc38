//! gRPC transcoding on the client: one request message becomes a method, a
//! percent-encoded path, query parameters and a JSON body, per the first
//! matching HttpRule.

use std::borrow::Cow;

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, ReflectMessage, Value as Field};
use serde_json::Value;

use super::HttpRule;
use crate::json::{has_special_json, message_to_json};
use crate::percent::encode_component;

/// What to send for one request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct HttpRequestParts {
    pub(crate) method: http::Method,
    /// The percent-encoded path, without the query.
    pub(crate) path: String,
    /// Decoded query parameters, in field-number order.
    pub(crate) query: Vec<(String, String)>,
    /// The JSON body, if the rule has one.
    pub(crate) body: Option<Value>,
}

impl HttpRequestParts {
    /// The query string, every byte outside the unreserved set encoded.
    pub(crate) fn query_string(&self) -> String {
        self.query
            .iter()
            .map(|(key, value)| format!("{}={}", encode_component(key), encode_component(value)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The path and, when there are parameters, `?` and the query string.
    pub(crate) fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query_string())
        }
    }
}

/// Why no request could be built; names the value and every template tried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TranscodeError(pub(crate) String);

impl std::fmt::Display for TranscodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TranscodeError {}

/// Builds the request with the first rule whose path template the message's
/// fields satisfy.
pub(crate) fn transcode(
    rules: &[HttpRule],
    message: &DynamicMessage,
) -> Result<HttpRequestParts, TranscodeError> {
    let mut reasons = Vec::new();
    for rule in rules {
        match rule.template.expand(&|path| path_value(message, path)) {
            Ok(path) => return Ok(build(rule, path, message)),
            Err(reason) => reasons.push(reason.to_string()),
        }
    }
    Err(no_binding(rules, &reasons))
}

/// [`transcode`] for a request whose only field is the string `name`
/// (GetOperation, CancelOperation, DeleteOperation), without reflection:
/// the same result, for a fraction of the work on every call. `None` when a
/// rule names a body field other than `name`, which only [`transcode`]
/// knows how to fill.
pub(crate) fn transcode_name_only(
    rules: &[HttpRule],
    name: &str,
) -> Option<Result<HttpRequestParts, TranscodeError>> {
    if rules
        .iter()
        .any(|rule| matches!(rule.body.as_deref(), Some(field) if field != "*" && field != "name"))
    {
        return None;
    }
    // An empty string is proto3's default: the field is not set.
    let set = !name.is_empty();
    let value_of = |path: &str| (set && path == "name").then_some(Cow::Borrowed(name));
    let mut reasons = Vec::new();
    for rule in rules {
        let path = match rule.template.expand_borrowed(&value_of) {
            Ok(path) => path,
            Err(reason) => {
                reasons.push(reason.to_string());
                continue;
            }
        };
        let bound = rule.template.has_variable("name");
        let unbound_name =
            || (set && !bound).then(|| ("name".to_owned(), Value::String(name.to_owned())));
        let (query, body) = match rule.body.as_deref() {
            Some("*") => (
                Vec::new(),
                Some(Value::Object(unbound_name().into_iter().collect())),
            ),
            // A default value prints as nothing, so an unset name is null.
            Some(_) => {
                let body = if set {
                    Value::String(name.to_owned())
                } else {
                    Value::Null
                };
                (Vec::new(), Some(body))
            }
            None => {
                let query = unbound_name()
                    .map(|(key, _)| (key, name.to_owned()))
                    .into_iter()
                    .collect();
                (query, None)
            }
        };
        return Some(Ok(HttpRequestParts {
            method: rule.method.clone(),
            path,
            query,
            body,
        }));
    }
    Some(Err(no_binding(rules, &reasons)))
}

fn no_binding(rules: &[HttpRule], reasons: &[String]) -> TranscodeError {
    let tried: Vec<&str> = rules.iter().map(|rule| rule.template.as_str()).collect();
    TranscodeError(format!(
        "no HTTP binding fits the request (templates tried: {}): {}",
        tried.join(", "),
        reasons.join("; ")
    ))
}

fn build(rule: &HttpRule, path: String, message: &DynamicMessage) -> HttpRequestParts {
    let bound: Vec<&str> = rule.template.variables();
    let mut query = Vec::new();
    let body = match rule.body.as_deref() {
        Some("*") => {
            let mut rest = message.clone();
            for field_path in &bound {
                clear_path(&mut rest, field_path);
            }
            Some(message_to_json(&rest))
        }
        Some(field_name) => {
            let body = match message.descriptor().get_field_by_name(field_name) {
                Some(field) if message.has_field(&field) => {
                    field_json(&field, &message.get_field(&field))
                }
                Some(field) if matches!(field.kind(), Kind::Message(_)) => {
                    Value::Object(Default::default())
                }
                Some(field) => field_json(&field, &message.get_field(&field)),
                None => Value::Null,
            };
            query_params(message, "", "", &bound, Some(field_name), &mut query);
            Some(body)
        }
        None => {
            query_params(message, "", "", &bound, None, &mut query);
            None
        }
    };
    HttpRequestParts {
        method: rule.method.clone(),
        path,
        query,
        body,
    }
}

/// The value a path variable takes: the field at a dotted path, as text.
fn path_value(message: &DynamicMessage, path: &str) -> Option<String> {
    let (head, rest) = path
        .split_once('.')
        .map_or((path, None), |(h, r)| (h, Some(r)));
    let field = message.descriptor().get_field_by_name(head)?;
    if !message.has_field(&field) {
        return None;
    }
    let value = message.get_field(&field);
    match (rest, value.as_ref()) {
        (Some(rest), Field::Message(inner)) => path_value(inner, rest),
        (None, Field::String(text)) => Some(text.clone()),
        (None, other) => scalar_text(&field, other),
        _ => None,
    }
}

fn clear_path(message: &mut DynamicMessage, path: &str) {
    let (head, rest) = path
        .split_once('.')
        .map_or((path, None), |(h, r)| (h, Some(r)));
    let Some(field) = message.descriptor().get_field_by_name(head) else {
        return;
    };
    match rest {
        None => message.clear_field(&field),
        Some(rest) => {
            if let Field::Message(inner) = message.get_field_mut(&field) {
                clear_path(inner, rest);
            }
        }
    }
}

fn field_json(field: &FieldDescriptor, value: &Field) -> Value {
    // Print through a one-field message so that the JSON mapping is shared.
    let mut holder = DynamicMessage::new(field.parent_message().clone());
    holder.set_field(field, value.clone());
    match message_to_json(&holder) {
        Value::Object(mut object) => object.remove(field.json_name()).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn scalar_text(field: &FieldDescriptor, value: &Field) -> Option<String> {
    match field_json(field, value) {
        Value::String(text) => Some(text),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Every set field not bound to the path (nor the body) as query
/// parameters, in field-number order; nested messages flatten to dotted
/// names, repeated fields repeat the key.
fn query_params(
    message: &DynamicMessage,
    proto_prefix: &str,
    json_prefix: &str,
    bound: &[&str],
    body_field: Option<&str>,
    out: &mut Vec<(String, String)>,
) {
    let mut fields: Vec<FieldDescriptor> = message.descriptor().fields().collect();
    fields.sort_by_key(FieldDescriptor::number);
    for field in fields {
        let proto_path = format!("{proto_prefix}{}", field.name());
        let json_path = format!("{json_prefix}{}", field.json_name());
        if bound.contains(&proto_path.as_str())
            || (proto_prefix.is_empty() && body_field == Some(field.name()))
        {
            continue;
        }
        if !message.has_field(&field) || field.is_map() {
            continue;
        }
        let value = message.get_field(&field);
        match (value.as_ref(), field.kind()) {
            (Field::List(items), _) => {
                for item in items {
                    if let Some(text) = list_item_text(&field, item) {
                        out.push((json_path.clone(), text));
                    }
                }
            }
            (Field::Message(inner), Kind::Message(descriptor))
                if !has_special_json(descriptor.full_name()) =>
            {
                query_params(
                    inner,
                    &format!("{proto_path}."),
                    &format!("{json_path}."),
                    bound,
                    None,
                    out,
                );
            }
            (other, _) => {
                if let Some(text) = scalar_text(&field, other) {
                    out.push((json_path, text));
                }
            }
        }
    }
}

/// One element of a repeated scalar field as text.
fn list_item_text(field: &FieldDescriptor, item: &Field) -> Option<String> {
    match field_json(field, &Field::List(vec![item.clone()])) {
        Value::Array(mut items) => match items.pop()? {
            Value::String(text) => Some(text),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost::Message;

    use super::*;
    use crate::proto::longrunning::{
        CancelOperationRequest, DeleteOperationRequest, GetOperationRequest,
    };
    use crate::routes::{ApiVersion, Routes, Rpc};

    /// Route tables with every shape a name-only request meets: Earth
    /// Engine's, the generic ones, and bindings with the name unbound, in
    /// the body, or the whole request as the body.
    fn route_tables() -> Vec<Routes> {
        let mut tables: Vec<Routes> = ApiVersion::ALL
            .into_iter()
            .map(Routes::earth_engine)
            .collect();
        tables.push(Routes::generic());
        tables.push(
            Routes::empty()
                .with_binding(Rpc::GetOperation, "GET", "/v2/operations:lookup", None)
                .with_binding(
                    Rpc::CancelOperation,
                    "POST",
                    "/v2/operations:cancel",
                    Some("*"),
                )
                .with_binding(
                    Rpc::DeleteOperation,
                    "POST",
                    "/v2/operations:delete",
                    Some("name"),
                ),
        );
        tables.push(
            Routes::empty()
                .with_binding(Rpc::GetOperation, "GET", "/v3/{name=tasks/*}", None)
                .with_binding(Rpc::GetOperation, "GET", "/v3/{name=**}", None),
        );
        tables
    }

    fn by_reflection(
        routes: &Routes,
        rpc: Rpc,
        name: &str,
    ) -> Result<HttpRequestParts, TranscodeError> {
        let name = name.to_owned();
        let (bytes, type_name) = match rpc {
            Rpc::GetOperation => (
                GetOperationRequest { name }.encode_to_vec(),
                "GetOperationRequest",
            ),
            Rpc::CancelOperation => (
                CancelOperationRequest { name }.encode_to_vec(),
                "CancelOperationRequest",
            ),
            _ => (
                DeleteOperationRequest { name }.encode_to_vec(),
                "DeleteOperationRequest",
            ),
        };
        let descriptor = crate::json::descriptor(&format!("google.longrunning.{type_name}"))
            .map_err(|e| TranscodeError(e.to_string()))?;
        let message = DynamicMessage::decode(descriptor, bytes.as_slice())
            .map_err(|e| TranscodeError(e.to_string()))?;
        transcode(routes.rules(rpc), &message)
    }

    fn names() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "projects/[a-z0-9-]{1,12}/operations/[A-Z0-9]{1,24}",
            "operations(/[a-zA-Z0-9 %?#._~-]{1,8}){1,4}",
            "tasks/[a-z]{1,6}",
            any::<String>(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The shortcut builds exactly the request transcoding by
        /// reflection builds, or the same error.
        #[test]
        fn name_only_transcoding_matches_reflection(name in names()) {
            for routes in route_tables() {
                for rpc in [Rpc::GetOperation, Rpc::CancelOperation, Rpc::DeleteOperation] {
                    let rules = routes.rules(rpc);
                    if rules.is_empty() {
                        continue;
                    }
                    let fast = transcode_name_only(rules, &name);
                    prop_assert!(fast.is_some(), "{rpc:?} has a name-only shortcut");
                    let expected = by_reflection(&routes, rpc, &name);
                    prop_assert_eq!(fast.unwrap_or_else(|| unreachable!()), expected, "{:?} {:?}", rpc, name);
                }
            }
        }
    }
}
