//! Parsing proto3 JSON into messages.
//!
//! Message-typed fields and `Any` are walked here, so that the same field
//! given under both of its names, two members of one oneof, or an `Any` of
//! an unknown type are handled per the mapping; scalar fields (numbers in any
//! accepted notation, enums, bytes, maps of scalars) are parsed by
//! prost-reflect.
//!
//! What Google's reference parsers refuse is refused here too, whatever the
//! mode: an object with the same key twice, and timestamps or durations
//! outside their proto3 JSON forms (see `typed::timestamp` and `duration_form`). Unknown fields
//! are still ignored when lenient, and an `Any` of an unknown type kept.

use prost::Message;
use prost_reflect::{DeserializeOptions, DynamicMessage, Kind, MessageDescriptor, Value as Field};
use serde_json::{Map, Value};

use super::error::{JsonError, ParseMode};
use super::typed::{UniqueValue, parse_timestamp};
use super::{JSON_ANY_PREFIX, duration_form, has_special_json, pool};

const ANY: &str = "google.protobuf.Any";

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Parses JSON text (one value, nothing after it) into a message.
pub(crate) fn parse_text(
    descriptor: &MessageDescriptor,
    text: &str,
    mode: ParseMode,
) -> Result<DynamicMessage, JsonError> {
    let mut reader = serde_json::Deserializer::from_str(text);
    let json = serde::de::DeserializeSeed::deserialize(UniqueValue, &mut reader)
        .and_then(|json| reader.end().map(|()| json))
        .map_err(|e| JsonError::at("", format!("not valid JSON: {e}")))?;
    parse_message(descriptor, &json, mode, "")
}

/// Parses a JSON value into a message of type `descriptor`.
pub(crate) fn parse_message(
    descriptor: &MessageDescriptor,
    json: &Value,
    mode: ParseMode,
    path: &str,
) -> Result<DynamicMessage, JsonError> {
    if has_special_json(descriptor.full_name()) {
        check_time_form(descriptor.full_name(), json, path)?;
        return deserialize(descriptor, json, mode, path);
    }
    let Value::Object(object) = json else {
        return Err(JsonError::at(
            path,
            format!("expected a JSON object for {}", descriptor.full_name()),
        ));
    };
    parse_object(descriptor, object, None, mode, path)
}

/// Parses the members of a JSON object, but `skip` (an `Any`'s `@type`),
/// into a message of type `descriptor`.
///
/// The object is only borrowed: message-typed members are walked in place
/// and only this level's scalar members are copied, so that a document of
/// nested messages (or of `Any`s nested in one another) is never copied once
/// per level of nesting.
fn parse_object(
    descriptor: &MessageDescriptor,
    object: &Map<String, Value>,
    skip: Option<&str>,
    mode: ParseMode,
    path: &str,
) -> Result<DynamicMessage, JsonError> {
    for field in descriptor.fields() {
        if field.name() != field.json_name()
            && object.contains_key(field.name())
            && object.contains_key(field.json_name())
        {
            return Err(JsonError::at(
                path,
                format!(
                    "field {} is given twice, as {:?} and {:?}",
                    field.name(),
                    field.name(),
                    field.json_name()
                ),
            ));
        }
    }
    let mut residual = Map::new();
    let mut walked = Vec::new();
    for (key, value) in object {
        if skip == Some(key.as_str()) {
            continue;
        }
        let field = descriptor
            .get_field_by_json_name(key)
            .or_else(|| descriptor.get_field_by_name(key));
        match field {
            Some(field) if !field.is_map() && matches!(field.kind(), Kind::Message(_)) => {
                walked.push((field, key, value))
            }
            // Ignored when lenient: not even copied.
            None if mode == ParseMode::Lenient => {}
            _ => {
                residual.insert(key.clone(), value.clone());
            }
        }
    }
    let mut message = deserialize(descriptor, &Value::Object(residual), mode, path)?;
    for (field, key, value) in walked {
        if value.is_null() {
            continue;
        }
        let Kind::Message(type_of) = field.kind() else {
            continue;
        };
        let field_path = child(path, key);
        let rival = field.containing_oneof().and_then(|oneof| {
            let other = oneof
                .fields()
                .find(|other| other.number() != field.number() && message.has_field(other))?;
            Some((oneof, other))
        });
        if let Some((oneof, other)) = rival {
            return Err(JsonError::at(
                path,
                format!(
                    "{} and {} are members of one oneof ({}); only one may be set",
                    other.json_name(),
                    field.json_name(),
                    oneof.name()
                ),
            ));
        }
        let parsed = if field.is_list() {
            let Value::Array(items) = value else {
                return Err(JsonError::at(&field_path, "expected a JSON array"));
            };
            let items = items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    singular(&type_of, item, mode, &format!("{field_path}[{index}]"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Field::List(items)
        } else {
            singular(&type_of, value, mode, &field_path)?
        };
        message.set_field(&field, parsed);
    }
    Ok(message)
}

fn singular(
    descriptor: &MessageDescriptor,
    json: &Value,
    mode: ParseMode,
    path: &str,
) -> Result<Field, JsonError> {
    if json.is_null() && descriptor.full_name() != "google.protobuf.Value" {
        return Err(JsonError::at(path, "null is not allowed here"));
    }
    if descriptor.full_name() == ANY {
        let any = parse_any(json, mode, path)?;
        let message = DynamicMessage::decode(descriptor.clone(), any.encode_to_vec().as_slice())
            .map_err(|e| JsonError::at(path, e.to_string()))?;
        return Ok(Field::Message(message));
    }
    parse_message(descriptor, json, mode, path).map(Field::Message)
}

/// Parses an `Any`. One whose type is not known is kept with its JSON text
/// (everything but `@type`) as its value, under its type URL with
/// [`JSON_ANY_PREFIX`] in front; `{}` is the default Any.
pub(crate) fn parse_any(
    json: &Value,
    mode: ParseMode,
    path: &str,
) -> Result<prost_types::Any, JsonError> {
    let Value::Object(object) = json else {
        return Err(JsonError::at(
            path,
            "expected a JSON object for google.protobuf.Any",
        ));
    };
    if object.is_empty() {
        // The default (empty) Any, as proto3 printers write it.
        return Ok(prost_types::Any::default());
    }
    let Some(Value::String(type_url)) = object.get("@type") else {
        return Err(JsonError::at(path, "an Any needs its \"@type\""));
    };
    let Some((_, type_name)) = type_url.rsplit_once('/') else {
        return Err(JsonError::at(
            path,
            format!("type URL {type_url:?} has no '/'"),
        ));
    };
    let value = match pool().get_message_by_name(type_name) {
        Some(descriptor) if has_special_json(type_name) => {
            let Some(inner) = object.get("value") else {
                return Err(JsonError::at(
                    path,
                    format!("an Any of {type_name} needs \"value\""),
                ));
            };
            let inner_path = child(path, "value");
            check_time_form(type_name, inner, &inner_path)?;
            deserialize(&descriptor, inner, mode, &inner_path)?.encode_to_vec()
        }
        Some(descriptor) => {
            parse_object(&descriptor, object, Some("@type"), mode, path)?.encode_to_vec()
        }
        None => {
            return Ok(prost_types::Any {
                type_url: format!("{JSON_ANY_PREFIX}{type_url}"),
                value: without_type(object).map_err(|e| JsonError::at(path, e.to_string()))?,
            });
        }
    };
    Ok(prost_types::Any {
        type_url: type_url.clone(),
        value,
    })
}

/// An `Any`'s members but `@type` as JSON text, in their order, written
/// member by member rather than from a copy of the object.
fn without_type(object: &Map<String, Value>) -> serde_json::Result<Vec<u8>> {
    let mut out = vec![b'{'];
    let members = object.iter().filter(|(key, _)| key.as_str() != "@type");
    for (index, (key, value)) in members.enumerate() {
        if index > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, key)?;
        out.push(b':');
        serde_json::to_writer(&mut out, value)?;
    }
    out.push(b'}');
    Ok(out)
}

/// Refuses a Timestamp or Duration string that is not in its proto3 JSON
/// form (other JSON types are left to the parser, which refuses them).
fn check_time_form(full_name: &str, json: &Value, path: &str) -> Result<(), JsonError> {
    let problem = match (full_name, json) {
        ("google.protobuf.Timestamp", Value::String(text)) => parse_timestamp(text).err(),
        ("google.protobuf.Duration", Value::String(text)) => duration_form::duration_problem(text),
        _ => None,
    };
    problem.map_or(Ok(()), |problem| Err(JsonError::at(path, problem)))
}

/// prost-reflect's parser, for scalars and well-known types.
fn deserialize(
    descriptor: &MessageDescriptor,
    json: &Value,
    mode: ParseMode,
    path: &str,
) -> Result<DynamicMessage, JsonError> {
    let options = DeserializeOptions::new().deny_unknown_fields(mode == ParseMode::Strict);
    DynamicMessage::deserialize_with_options(descriptor.clone(), json, &options)
        .map_err(|e| JsonError::at(path, e.to_string()))
}

#[cfg(test)]
mod tests {
    use crate::json::{ParseMode, parse_operation, parse_typed};
    use crate::proto::longrunning::{Operation, WaitOperationRequest};

    const METADATA: &str = "type.googleapis.com/google.earthengine.v1.OperationMetadata";

    fn with_create_time(time: &str) -> String {
        format!(r#"{{"name":"x","metadata":{{"@type":"{METADATA}","createTime":"{time}"}}}}"#)
    }

    fn refused(text: &str) -> String {
        parse_operation(text)
            .map(|op| panic!("accepted {text}: {op:?}"))
            .unwrap_or_else(|error: super::JsonError| error.to_string())
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let nested = format!(
            r#"{{"name":"x","metadata":{{"@type":"{METADATA}","state":"RUNNING","state":"FAILED"}}}}"#
        );
        for (text, key) in [
            (r#"{"name":"a","name":"b"}"#, "name"),
            (nested.as_str(), "state"),
            (r#"{"name":"x","futureField":{"a":1,"a":2}}"#, "a"),
            (
                r#"{"name":"x","error":{"code":1,"details":[{"@type":"t/x","k":1,"k":1}]}}"#,
                "k",
            ),
        ] {
            let error = refused(text);
            assert!(
                error.contains(&format!("duplicate key {key:?}")),
                "{text}: {error}"
            );
        }
        let request = parse_typed::<WaitOperationRequest>(
            r#"{"timeout":"1s","timeout":"2s"}"#,
            "google.longrunning.WaitOperationRequest",
            ParseMode::Lenient,
        );
        assert!(request.is_err());
    }

    #[test]
    fn timestamps_outside_the_proto3_form_are_refused_with_where() {
        for (time, why) in [
            ("2024-01-01T00:00:00.1234567891Z", "fractional digits"),
            ("0000-12-31T00:00:00Z", "outside the timestamp range"),
            ("0001-01-01T00:00:00+01:00", "outside the timestamp range"),
            ("2024-01-01t00:00:00Z", "upper-case"),
            ("2024-01-01T00:00:00z", "end in Z"),
            ("2024-01-01T00:00:00", "upper-case"),
        ] {
            let error = refused(&with_create_time(time));
            assert!(error.contains(why), "{time}: {error}");
            assert!(error.contains("metadata.createTime"), "{time}: {error}");
        }
        let nine = parse_operation(&with_create_time("2024-01-01T00:00:00.123456789Z"));
        assert!(nine.is_ok(), "{nine:?}");
    }

    #[test]
    fn durations_outside_the_proto3_form_are_refused() {
        let wait = |timeout: &str| {
            parse_typed::<WaitOperationRequest>(
                &format!(r#"{{"timeout":"{timeout}"}}"#),
                "google.longrunning.WaitOperationRequest",
                ParseMode::Lenient,
            )
        };
        for (timeout, why) in [
            ("1.0000000001s", "fractional digits"),
            ("315576000001s", "outside the duration range"),
            ("-315576000001s", "outside the duration range"),
            ("1", "the form"),
        ] {
            let error = wait(timeout).expect_err(timeout).to_string();
            assert!(
                error.contains(why) && error.contains("timeout"),
                "{timeout}: {error}"
            );
        }
        assert!(wait("315576000000.999999999s").is_ok());
        let in_any = r#"{"name":"x","response":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"0.0000000001s"}}"#;
        assert!(refused(in_any).contains("response.value"));
    }

    #[test]
    fn unknown_fields_and_any_types_are_still_kept_lenient() {
        let text = format!(
            r#"{{"name":"x","future":{{"a":[1,{{"b":2}}]}},"metadata":{{"@type":"{METADATA}","later":1}},
               "response":{{"@type":"type.googleapis.com/example.New","n":1}}}}"#
        );
        let operation: Operation = parse_operation(&text).expect("lenient");
        assert_eq!(operation.name, "x");
        assert!(operation.earth_engine_metadata().is_some());
        let Some(crate::proto::longrunning::operation::Result::Response(any)) = operation.result
        else {
            panic!("the response is kept");
        };
        assert_eq!(
            (any.type_url.as_str(), any.value.as_slice()),
            ("json:type.googleapis.com/example.New", &br#"{"n":1}"#[..])
        );
    }
}
