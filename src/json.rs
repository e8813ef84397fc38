//! proto3 JSON for operations, through the descriptor set `build.rs` keeps.
//!
//! `Any` values are printed with `@type` and their fields inline when their
//! type is known (Earth Engine metadata under v1, v1beta and v1alpha, the
//! `google.rpc` details, every well-known type). An `Any` of a type that is
//! not known is printed as `{"@type": URL, "value": "<base64 bytes>"}`
//! rather than failing the whole operation.

use std::sync::LazyLock;

use base64::Engine;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, ReflectMessage, SerializeOptions};
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};
use serde_json::{Map, Value};

use crate::longrunning::{Operation, operation};
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::rpc::Status;

static POOL: LazyLock<DescriptorPool> = LazyLock::new(build_pool);

const EARTH_ENGINE_V1_PACKAGE: &str = "google.earthengine.v1";
const EARTH_ENGINE_ALIASES: [&str; 2] = ["v1beta", "v1alpha"];

/// The descriptor pool of every message this crate knows, including the Earth
/// Engine metadata under each API version.
pub(crate) fn pool() -> &'static DescriptorPool {
    &POOL
}

fn build_pool() -> DescriptorPool {
    // The descriptor set is produced by build.rs from the protos in this
    // crate, so failing to read it is a build defect, not a runtime input.
    #[allow(clippy::expect_used)]
    let mut set =
        FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set from build.rs");
    let aliases: Vec<FileDescriptorProto> = set
        .file
        .iter()
        .filter(|file| file.package() == EARTH_ENGINE_V1_PACKAGE)
        .flat_map(|file| {
            EARTH_ENGINE_ALIASES
                .iter()
                .map(move |version| alias_file(file, version))
        })
        .collect();
    set.file.extend(aliases);
    // Start from the well-known types (Struct, wrappers, FieldMask, ...), which
    // other services put in metadata and responses; files of ours that are
    // already there are skipped.
    let mut pool = DescriptorPool::global();
    #[allow(clippy::expect_used)]
    pool.add_file_descriptor_set(set)
        .expect("descriptor set from build.rs is valid");
    pool
}

/// The same file under `google.earthengine.{version}`.
fn alias_file(file: &FileDescriptorProto, version: &str) -> FileDescriptorProto {
    let package = format!("google.earthengine.{version}");
    let mut alias = file.clone();
    alias.name = Some(file.name().replace("/v1/", &format!("/{version}/")));
    alias.package = Some(package.clone());
    let from = format!(".{EARTH_ENGINE_V1_PACKAGE}.");
    let to = format!(".{package}.");
    for message in &mut alias.message_type {
        rename_types(message, &from, &to);
    }
    alias
}

fn rename_types(message: &mut DescriptorProto, from: &str, to: &str) {
    for field in &mut message.field {
        if let Some(rest) = field
            .type_name
            .as_deref()
            .and_then(|name| name.strip_prefix(from))
        {
            field.type_name = Some(format!("{to}{rest}"));
        }
    }
    for nested in &mut message.nested_type {
        rename_types(nested, from, to);
    }
}

/// Full names of the well-known types whose JSON form is not an object, so
/// that inside an `Any` they go under `"value"`.
fn has_special_json(full_name: &str) -> bool {
    matches!(
        full_name,
        "google.protobuf.Duration"
            | "google.protobuf.Timestamp"
            | "google.protobuf.FieldMask"
            | "google.protobuf.Struct"
            | "google.protobuf.Value"
            | "google.protobuf.ListValue"
            | "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue"
            | "google.protobuf.Any"
    )
}

/// An `Any` in proto3 JSON; unknown or undecodable contents are kept raw.
pub fn any_to_json(any: &prost_types::Any) -> Value {
    let type_name = any.type_url.rsplit_once('/').map_or("", |(_, name)| name);
    let decoded = pool()
        .get_message_by_name(type_name)
        .and_then(|descriptor| DynamicMessage::decode(descriptor, any.value.as_slice()).ok())
        .and_then(|message| {
            let value = message
                .serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())
                .ok()?;
            Some((message.descriptor().full_name().to_owned(), value))
        });
    let mut object = Map::new();
    object.insert("@type".into(), Value::String(any.type_url.clone()));
    match decoded {
        Some((full_name, value)) if has_special_json(&full_name) => {
            object.insert("value".into(), value);
        }
        Some((_, Value::Object(fields))) => object.extend(fields),
        Some((_, other)) => {
            object.insert("value".into(), other);
        }
        None => {
            let raw = base64::engine::general_purpose::STANDARD.encode(&any.value);
            object.insert("value".into(), Value::String(raw));
        }
    }
    Value::Object(object)
}

/// A `google.rpc.Status` in proto3 JSON.
pub fn status_to_json(status: &Status) -> Value {
    let mut object = Map::new();
    if status.code != 0 {
        object.insert("code".into(), status.code.into());
    }
    if !status.message.is_empty() {
        object.insert("message".into(), status.message.clone().into());
    }
    if !status.details.is_empty() {
        let details = status.details.iter().map(any_to_json).collect();
        object.insert("details".into(), Value::Array(details));
    }
    Value::Object(object)
}

/// An operation in proto3 JSON (default values omitted, as the mapping
/// prints them).
pub fn operation_to_json(op: &Operation) -> Value {
    let mut object = Map::new();
    if !op.name.is_empty() {
        object.insert("name".into(), op.name.clone().into());
    }
    if let Some(metadata) = &op.metadata {
        object.insert("metadata".into(), any_to_json(metadata));
    }
    if op.done {
        object.insert("done".into(), true.into());
    }
    match &op.result {
        Some(operation::Result::Error(status)) => {
            object.insert("error".into(), status_to_json(status));
        }
        Some(operation::Result::Response(response)) => {
            object.insert("response".into(), any_to_json(response));
        }
        None => {}
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::earthengine::{OperationMetadata, OperationStage, State};

    #[test]
    fn earth_engine_metadata_prints_under_every_version() {
        let metadata = OperationMetadata {
            state: State::Running as i32,
            progress: 0.25,
            r#type: "EXPORT_IMAGE".into(),
            stages: vec![OperationStage {
                display_name: "Compute".into(),
                total_work_units: 10,
                ..Default::default()
            }],
            ..Default::default()
        };
        for version in ["v1", "v1beta", "v1alpha"] {
            let url = format!("type.googleapis.com/google.earthengine.{version}.OperationMetadata");
            let op = Operation {
                name: "projects/p/operations/X".into(),
                metadata: Some(prost_types::Any {
                    type_url: url.clone(),
                    value: metadata.encode_to_vec(),
                }),
                ..Default::default()
            };
            assert_eq!(
                operation_to_json(&op),
                json!({
                    "name": "projects/p/operations/X",
                    "metadata": {
                        "@type": url,
                        "state": "RUNNING",
                        "progress": 0.25,
                        "type": "EXPORT_IMAGE",
                        "stages": [{"displayName": "Compute", "totalWorkUnits": "10"}],
                    }
                })
            );
        }
    }

    #[test]
    fn well_known_and_unknown_any_values() {
        let empty = prost_types::Any {
            type_url: "type.googleapis.com/google.protobuf.Empty".into(),
            value: vec![],
        };
        assert_eq!(any_to_json(&empty), json!({"@type": empty.type_url}));
        let duration = prost_types::Any {
            type_url: "type.googleapis.com/google.protobuf.Duration".into(),
            value: prost_types::Duration {
                seconds: 3,
                nanos: 500_000_000,
            }
            .encode_to_vec(),
        };
        assert_eq!(
            any_to_json(&duration),
            json!({"@type": duration.type_url, "value": "3.500s"})
        );
        let unknown = prost_types::Any {
            type_url: "type.googleapis.com/example.Nope".into(),
            value: vec![1, 2, 3],
        };
        assert_eq!(
            any_to_json(&unknown),
            json!({"@type": unknown.type_url, "value": "AQID"})
        );
    }

    #[test]
    fn struct_metadata_of_another_service_prints_as_json() {
        use prost_types::{Struct, Value, value::Kind};
        let metadata = Struct {
            fields: [(
                "phase".to_owned(),
                Value {
                    kind: Some(Kind::StringValue("copying".into())),
                },
            )]
            .into(),
        };
        let op = Operation {
            name: "operations/batch/2024/item-7".into(),
            metadata: Some(prost_types::Any {
                type_url: "type.googleapis.com/google.protobuf.Struct".into(),
                value: metadata.encode_to_vec(),
            }),
            ..Default::default()
        };
        assert_eq!(
            operation_to_json(&op),
            json!({
                "name": "operations/batch/2024/item-7",
                "metadata": {"@type": "type.googleapis.com/google.protobuf.Struct", "value": {"phase": "copying"}}
            })
        );
    }

    #[test]
    fn failed_operation_prints_its_error_and_details() {
        let op = Operation {
            name: "operations/a/b".into(),
            done: true,
            result: Some(operation::Result::Error(Status {
                code: 5,
                message: "gone".into(),
                details: vec![prost_types::Any {
                    type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
                    value: crate::rpc::ErrorInfo {
                        reason: "GONE".into(),
                        ..Default::default()
                    }
                    .encode_to_vec(),
                }],
            })),
            ..Default::default()
        };
        assert_eq!(
            operation_to_json(&op),
            json!({
                "name": "operations/a/b",
                "done": true,
                "error": {"code": 5, "message": "gone", "details": [
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "GONE"}
                ]}
            })
        );
    }
}
