//! Printing messages as canonical proto3 JSON: default values omitted,
//! lowerCamel names, int64 as strings, enums by name (or by number, as
//! `$alt=json;enum-encoding=int` asks a REST server), `Any` with `@type`.

use base64::Engine;
use bytes::Bytes;
use prost_reflect::{
    DynamicMessage, Kind, MapKey, ReflectMessage, SerializeOptions, Value as Field,
};
use serde_json::{Map, Number, Value};

use super::{has_special_json, kept_as_json, pool};
use crate::metadata_numbering::unverified;

const ANY: &str = "google.protobuf.Any";

/// How enum values are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Enums {
    /// By name, as the mapping prints them.
    #[default]
    Names,
    /// By number.
    Numbers,
}

/// A message in proto3 JSON.
pub(crate) fn message_to_json(message: &DynamicMessage) -> Value {
    message_to_json_with(message, Enums::Names)
}

/// A message in proto3 JSON, its enums written as asked.
pub(crate) fn message_to_json_with(message: &DynamicMessage, enums: Enums) -> Value {
    let descriptor = message.descriptor();
    if has_special_json(descriptor.full_name()) {
        // Well-known types with their own JSON form (Timestamp, Struct, ...).
        let options = SerializeOptions::new().use_enum_numbers(enums == Enums::Numbers);
        return message
            .serialize_with_options(serde_json::value::Serializer, &options)
            .unwrap_or(Value::Null);
    }
    let mut object = Map::new();
    for (field, value) in message.fields() {
        object.insert(
            field.json_name().to_owned(),
            field_to_json(&field.kind(), value, enums),
        );
    }
    Value::Object(object)
}

fn field_to_json(kind: &Kind, value: &Field, enums: Enums) -> Value {
    match value {
        Field::List(items) => Value::Array(
            items
                .iter()
                .map(|item| field_to_json(kind, item, enums))
                .collect(),
        ),
        Field::Map(entries) => {
            let value_kind = match kind {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other.clone(),
            };
            let object = entries
                .iter()
                .map(|(key, value)| (map_key(key), field_to_json(&value_kind, value, enums)))
                .collect();
            Value::Object(object)
        }
        Field::Message(message) if message.descriptor().full_name() == ANY => {
            dynamic_any_to_json(message, enums)
        }
        Field::Message(message) => message_to_json_with(message, enums),
        Field::Bool(b) => Value::Bool(*b),
        Field::I32(n) => Value::from(*n),
        Field::U32(n) => Value::from(*n),
        Field::I64(n) => Value::String(n.to_string()),
        Field::U64(n) => Value::String(n.to_string()),
        Field::F32(x) => float(f64::from(*x)),
        Field::F64(x) => float(*x),
        Field::String(text) => Value::String(text.clone()),
        Field::Bytes(bytes) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        Field::EnumNumber(number) => match kind {
            Kind::Enum(_) if enums == Enums::Numbers => Value::from(*number),
            Kind::Enum(descriptor) => descriptor.get_value(*number).map_or_else(
                || Value::from(*number),
                |value| Value::String(value.name().to_owned()),
            ),
            _ => Value::from(*number),
        },
    }
}

fn map_key(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(text) => text.clone(),
    }
}

/// Finite numbers as JSON numbers (integral ones without a fraction, as
/// other proto3 printers write them); the rest as the mapping's strings.
pub(crate) fn float(x: f64) -> Value {
    if x.is_nan() {
        Value::String("NaN".into())
    } else if x.is_infinite() {
        Value::String(if x > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        Value::from(x as i64)
    } else {
        Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// An `Any` in proto3 JSON; contents of an unknown type are kept as they came.
pub fn any_to_json(any: &prost_types::Any) -> Value {
    any_to_json_with(any, Enums::Names)
}

/// An `Any` in proto3 JSON, its enums written as asked.
pub(crate) fn any_to_json_with(any: &prost_types::Any, enums: Enums) -> Value {
    any_parts_to_json(&any.type_url, Bytes::copy_from_slice(&any.value), enums)
}

/// An `Any` held as a dynamic message, printed from its two fields in place
/// (its `value` is shared, not copied: see [`any_parts_to_json`]).
fn dynamic_any_to_json(message: &DynamicMessage, enums: Enums) -> Value {
    let type_url = message.get_field_by_number(1);
    let value = message.get_field_by_number(2);
    any_parts_to_json(
        type_url
            .as_deref()
            .and_then(Field::as_str)
            .unwrap_or_default(),
        value
            .as_deref()
            .and_then(Field::as_bytes)
            .cloned()
            .unwrap_or_default(),
        enums,
    )
}

/// An `Any`'s type URL and value in proto3 JSON.
///
/// The contents are decoded from `value` as a [`Bytes`], so every bytes field
/// inside them (the `value` of an `Any` nested in the contents, in
/// particular) is a view of the same buffer: printing `Any`s nested in one
/// another costs no copy of the payload per level.
fn any_parts_to_json(type_url: &str, value: Bytes, enums: Enums) -> Value {
    if type_url.is_empty() && value.is_empty() {
        // The default Any, as other proto3 printers write it (and as
        // `parse_any` reads it back).
        return Value::Object(Map::new());
    }
    let mut object = Map::new();
    if let Some(original) = unverified(type_url) {
        // Bytes numbered by a server whose numbering is not known: shown as
        // they came, never read with this crate's field numbers.
        object.insert("@type".into(), Value::String(original.to_owned()));
        let raw = base64::engine::general_purpose::STANDARD.encode(&value);
        object.insert("value".into(), Value::String(raw));
        return Value::Object(object);
    }
    if let Some(original) = kept_as_json(type_url) {
        // Kept from a REST response: the JSON it arrived with.
        object.insert("@type".into(), Value::String(original.to_owned()));
        match serde_json::from_slice::<Map<String, Value>>(&value) {
            Ok(fields) => object.extend(fields),
            Err(_) => {
                let raw = base64::engine::general_purpose::STANDARD.encode(&value);
                object.insert("value".into(), Value::String(raw));
            }
        }
        return Value::Object(object);
    }
    let type_name = type_url.rsplit_once('/').map_or("", |(_, name)| name);
    object.insert("@type".into(), Value::String(type_url.to_owned()));
    let decoded = pool()
        .get_message_by_name(type_name)
        .and_then(|descriptor| DynamicMessage::decode(descriptor, value.clone()).ok());
    match decoded {
        Some(message) if has_special_json(type_name) => {
            object.insert("value".into(), message_to_json_with(&message, enums));
        }
        Some(message) => {
            if let Value::Object(fields) = message_to_json_with(&message, enums) {
                object.extend(fields);
            }
        }
        // Protobuf bytes of a type this crate does not know.
        None => {
            let raw = base64::engine::general_purpose::STANDARD.encode(&value);
            object.insert("value".into(), Value::String(raw));
        }
    }
    Value::Object(object)
}
