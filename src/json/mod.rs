//! The proto3 JSON mapping, driven by the descriptor set `build.rs` keeps.
//!
//! Message and `Any` fields are walked here; scalar fields are left to
//! prost-reflect. Walking `Any` ourselves is what lets one value of an unknown
//! type be kept instead of failing the whole response: over REST such an
//! `Any` keeps its type URL and its JSON text as `value`, and prints back as
//! it came. Known types (Earth Engine metadata under v1, v1beta and v1alpha,
//! the `google.rpc` details, every well-known type) are printed with `@type`
//! and their fields inline, or under `"value"` for types with a special JSON
//! form. An unknown `Any` that came over gRPC prints as
//! `{"@type": URL, "value": "<base64 of its bytes>"}`.

use std::sync::LazyLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};
use serde_json::Value;

mod duration_form;
mod error;
mod parse;
mod print;
mod typed;

pub use error::{JsonError, ParseMode};
pub(crate) use parse::{parse_any, parse_text};
#[cfg(feature = "emulator")]
pub(crate) use print::Enums;
pub use print::any_to_json;
pub(crate) use print::message_to_json;
#[cfg(feature = "emulator")]
pub(crate) use typed::Written;
#[cfg(fuzzing)]
pub(crate) use typed::read_page_by_operation;
pub use typed::{ListOperationsResponseJson, OperationJson, StatusJson};
pub(crate) use typed::{PageEnd, PageReader, read_list_page, read_operation, read_status};

use crate::proto::FILE_DESCRIPTOR_SET;
use crate::proto::longrunning::{ListOperationsResponse, Operation};
use crate::proto::rpc::Status;

/// Put in front of the type URL of an `Any` whose type this crate does not
/// know and that arrived as JSON (over REST): its `value` then holds the
/// JSON object's members but `@type`, as UTF-8 JSON text, instead of
/// protobuf bytes. An unknown `Any` that arrived as protobuf (over gRPC)
/// keeps its type URL as it came, so the two are never confused:
/// [`Operation::decoded_metadata`](crate::longrunning::Operation::decoded_metadata)
/// answers [`Metadata::Json`](crate::Metadata::Json) for the one and
/// [`Metadata::Other`](crate::Metadata::Other) for the other, and the
/// printers write each back as it came.
///
/// ```
/// use eeops::Metadata;
///
/// let text = r#"{"name": "operations/a",
///     "metadata": {"@type": "type.googleapis.com/example.Progress", "percent": 40}}"#;
/// let op = eeops::json::parse_operation(text).unwrap();
/// assert!(op.metadata.as_ref().unwrap().type_url.starts_with(eeops::json::JSON_ANY_PREFIX));
/// let Metadata::Json(any) = op.decoded_metadata() else { panic!("kept as JSON") };
/// assert_eq!(any.type_url, "type.googleapis.com/example.Progress");
/// assert_eq!(any.value, br#"{"percent":40}"#);
/// ```
pub const JSON_ANY_PREFIX: &str = "json:";

/// The original type URL of an `Any` kept as JSON (see [`JSON_ANY_PREFIX`]).
pub(crate) fn kept_as_json(type_url: &str) -> Option<&str> {
    type_url.strip_prefix(JSON_ANY_PREFIX)
}

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
pub(crate) fn has_special_json(full_name: &str) -> bool {
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

/// A `google.rpc.Status` in proto3 JSON.
pub fn status_to_json(status: &Status) -> Value {
    serde_json::to_value(StatusJson(status)).unwrap_or(Value::Null)
}

/// An operation in proto3 JSON (default values omitted, as the mapping
/// prints them). [`OperationJson`] writes the same without a tree.
pub fn operation_to_json(op: &Operation) -> Value {
    serde_json::to_value(OperationJson(op)).unwrap_or(Value::Null)
}

/// Parses a page of operations (`google.longrunning.ListOperationsResponse`)
/// from proto3 JSON, ignoring unknown fields.
pub fn parse_list_page(text: &str) -> Result<ListOperationsResponse, JsonError> {
    typed::read_list_page(text, ParseMode::Lenient)
}

/// Parses an operation from proto3 JSON, ignoring unknown fields.
pub fn parse_operation(text: &str) -> Result<Operation, JsonError> {
    typed::read_operation(text, ParseMode::Lenient)
}

/// Parses a message of one of this crate's types (by full proto name) from
/// proto3 JSON text.
pub(crate) fn parse_typed<M: Message + Default>(
    text: &str,
    full_name: &str,
    mode: ParseMode,
) -> Result<M, JsonError> {
    let descriptor = descriptor(full_name)?;
    let message = parse::parse_text(&descriptor, text, mode)?;
    M::decode(message.encode_to_vec().as_slice()).map_err(|e| JsonError::at_root(e.to_string()))
}

pub(crate) fn descriptor(full_name: &str) -> Result<MessageDescriptor, JsonError> {
    pool()
        .get_message_by_name(full_name)
        .ok_or_else(|| JsonError::at_root(format!("unknown message type {full_name}")))
}

/// A generated message as a dynamic one, through its wire form (`None` only
/// for a type name this crate does not have). The bytes fields of the result
/// (such as the values of `Any`s) share one buffer rather than each being
/// copied out of it.
pub(crate) fn to_dynamic(message: &impl Message, full_name: &str) -> Option<DynamicMessage> {
    let descriptor = pool().get_message_by_name(full_name)?;
    DynamicMessage::decode(descriptor, bytes::Bytes::from(message.encode_to_vec())).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::proto::earthengine::{OperationMetadata, OperationStage, State};
    use crate::proto::longrunning::operation;
    use crate::proto::rpc::Status;

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
                    value: crate::proto::rpc::ErrorInfo {
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
