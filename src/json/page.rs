//! A `ListOperationsResponse` read from JSON one operation at a time.
//!
//! A page of a thousand operations is a large JSON document. Read as one
//! tree it takes several times its own size in memory before the first
//! operation is converted; read here, only one operation's tree exists at a
//! time and the result is the same as reading the whole tree.

use std::fmt;

use prost::Message;
use prost_reflect::MessageDescriptor;
use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::descriptor;
use super::parse::{JsonError, ParseMode, parse_message};
use crate::proto::longrunning::{ListOperationsResponse, Operation};

const OPERATIONS: &str = "operations";

/// Parses a `google.longrunning.ListOperationsResponse` from JSON text.
pub(crate) fn parse_list_page(
    text: &str,
    mode: ParseMode,
) -> Result<ListOperationsResponse, JsonError> {
    let page_type = descriptor("google.longrunning.ListOperationsResponse")?;
    let operation_type = descriptor("google.longrunning.Operation")?;
    let mut failure = None;
    let mut reader = serde_json::Deserializer::from_str(text);
    let read = reader
        .deserialize_map(PageVisitor {
            operation_type: &operation_type,
            mode,
            failure: &mut failure,
        })
        .and_then(|page| reader.end().map(|()| page));
    let (operations, others) = match (read, failure) {
        (_, Some(failure)) => return Err(failure),
        (Err(error), None) => return Err(JsonError::at_root(format!("not valid JSON: {error}"))),
        (Ok(page), None) => page,
    };
    // Every member but the operations (next page token, unreachable
    // resources, unknown members) goes through the general reader.
    let rest = parse_message(&page_type, &Value::Object(others), mode, "")?;
    let mut page = ListOperationsResponse::decode(rest.encode_to_vec().as_slice())
        .map_err(|e| JsonError::at_root(e.to_string()))?;
    page.operations = operations;
    Ok(page)
}

/// The operations, converted, and every other member, kept as JSON.
type Page = (Vec<Operation>, Map<String, Value>);

struct PageVisitor<'a> {
    operation_type: &'a MessageDescriptor,
    mode: ParseMode,
    /// Why an operation could not be read, with its path; serde's own
    /// error type cannot carry it.
    failure: &'a mut Option<JsonError>,
}

impl<'de> Visitor<'de> for PageVisitor<'_> {
    type Value = Page;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object for google.longrunning.ListOperationsResponse")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page, A::Error> {
        let mut operations = Vec::new();
        let mut others = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key != OPERATIONS {
                others.insert(key, map.next_value()?);
                continue;
            }
            // As in a JSON tree, a repeated member replaces the earlier one.
            operations = map.next_value_seed(OperationsSeed {
                operation_type: self.operation_type,
                mode: self.mode,
                failure: &mut *self.failure,
            })?;
        }
        Ok((operations, others))
    }
}

struct OperationsSeed<'a> {
    operation_type: &'a MessageDescriptor,
    mode: ParseMode,
    failure: &'a mut Option<JsonError>,
}

impl<'de> DeserializeSeed<'de> for OperationsSeed<'_> {
    type Value = Vec<Operation>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        reader: D,
    ) -> Result<Vec<Operation>, D::Error> {
        reader.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for OperationsSeed<'_> {
    type Value = Vec<Operation>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of operations")
    }

    /// `null` is the default value: no operations.
    fn visit_unit<E: de::Error>(self) -> Result<Vec<Operation>, E> {
        Ok(Vec::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Vec<Operation>, A::Error> {
        let mut operations = Vec::with_capacity(items.size_hint().unwrap_or(0));
        while let Some(item) = items.next_element::<Value>()? {
            let path = format!("{OPERATIONS}[{}]", operations.len());
            match read_operation(self.operation_type, &item, self.mode, &path) {
                Ok(operation) => operations.push(operation),
                Err(failure) => {
                    *self.failure = Some(failure);
                    return Err(de::Error::custom("an operation could not be read"));
                }
            }
        }
        Ok(operations)
    }
}

fn read_operation(
    operation_type: &MessageDescriptor,
    json: &Value,
    mode: ParseMode,
    path: &str,
) -> Result<Operation, JsonError> {
    if json.is_null() {
        return Err(JsonError::at_root(format!(
            "{path}: an operation cannot be null"
        )));
    }
    let message = parse_message(operation_type, json, mode, path)?;
    Operation::decode(message.encode_to_vec().as_slice())
        .map_err(|e| JsonError::at_root(format!("{path}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_typed;

    fn both_ways(
        text: &str,
    ) -> (
        Result<ListOperationsResponse, String>,
        Result<ListOperationsResponse, String>,
    ) {
        let by_page = parse_list_page(text, ParseMode::Lenient).map_err(|e| e.to_string());
        let by_tree = parse_typed::<ListOperationsResponse>(
            text,
            "google.longrunning.ListOperationsResponse",
            ParseMode::Lenient,
        )
        .map_err(|e| e.to_string());
        (by_page, by_tree)
    }

    #[test]
    fn pages_read_as_a_whole_tree_would() {
        for text in [
            r#"{}"#,
            r#"{"operations": null, "nextPageToken": "t"}"#,
            r#"{"operations": [], "next_page_token": "t"}"#,
            r#"{"nextPageToken": "t2", "operations": [{"name": "operations/a", "done": true}, {"name": "operations/b"}], "unknownMember": {"x": [1, 2]}}"#,
            r#"{"operations": [{"name": "operations/a"}], "operations": [{"name": "operations/b"}]}"#,
            r#"{"operations": [{"name": "operations/a", "metadata": {"@type": "type.googleapis.com/google.earthengine.v1.OperationMetadata", "state": "RUNNING", "progress": 0.5}}]}"#,
            r#"{"operations": [{"name": "operations/a", "metadata": {"@type": "type.googleapis.com/example.Unknown", "x": 1}}]}"#,
            r#"{"unreachable": ["projects/x"], "operations": [{"name": "operations/a"}]}"#,
        ] {
            let (by_page, by_tree) = both_ways(text);
            assert!(by_page.is_ok(), "{text}: {by_page:?}");
            assert_eq!(by_page, by_tree, "{text}");
        }
    }

    #[test]
    fn bad_pages_fail_and_say_where() {
        for (text, needle) in [
            (r#"{"operations": [{"name": 5}]}"#, "operations[0]"),
            (
                r#"{"operations": [{"name": "a"}, {"done": "maybe"}]}"#,
                "operations[1]",
            ),
            (r#"{"operations": [null]}"#, "operations[0]"),
            (r#"{"operations": {"name": "a"}}"#, "list of operations"),
            (r#"{"nextPageToken": 7}"#, "expected a string"),
            (r#"[]"#, "JSON object"),
            (r#"{"operations": []} trailing"#, "JSON"),
            (r#"{"operations": [{"name": "a"}"#, "JSON"),
        ] {
            let (by_page, by_tree) = both_ways(text);
            let error = by_page.expect_err(text);
            assert!(error.contains(needle), "{text}: {error}");
            assert!(by_tree.is_err(), "{text}: the tree reader agrees it is bad");
        }
    }
}
