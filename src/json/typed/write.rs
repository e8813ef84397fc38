//! Operations written as proto3 JSON straight from their generated types:
//! default values left out, lowerCamel names, int64 as strings, enums by
//! name, `Any` with `@type`. Earth Engine metadata is written field by
//! field, and an empty `google.protobuf.Empty` (the response of most finished
//! operations) as its `@type` alone; an `Any` of any other type goes to the
//! descriptor-driven printer, whose descriptor pool is built on first use.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::super::print::{Enums, any_to_json_with, float};
use super::any::EMPTY;
use super::timestamp;
use crate::proto::EARTH_ENGINE_METADATA_TYPE_URLS;
use crate::proto::earthengine::{
    OperationMetadata, OperationNotification, OperationStage, Severity, State,
};
use crate::proto::longrunning::{ListOperationsResponse, Operation, operation};
use crate::proto::rpc::Status;
use prost::Message;

/// An [`Operation`] as proto3 JSON, for any serde serializer: for example
/// `serde_json::to_writer(out, &OperationJson(&op))` writes it without
/// building a tree first.
///
/// ```
/// use eeops::json::OperationJson;
/// use eeops::longrunning::Operation;
///
/// let op = Operation { name: "operations/a".into(), done: true, ..Default::default() };
/// let text = serde_json::to_string(&OperationJson(&op)).unwrap();
/// assert_eq!(text, r#"{"name":"operations/a","done":true}"#);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct OperationJson<'a>(pub &'a Operation);

impl Serialize for OperationJson<'_> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        Written(self.0, Enums::Names).serialize(out)
    }
}

/// A message as proto3 JSON, its enums written as asked (Google's front
/// ends write numbers when a call asks for `enum-encoding=int`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Written<'a, T>(pub(crate) &'a T, pub(crate) Enums);

impl Serialize for Written<'_, Operation> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        let (op, enums) = (self.0, self.1);
        let mut map = out.serialize_map(None)?;
        if !op.name.is_empty() {
            map.serialize_entry("name", &op.name)?;
        }
        if let Some(metadata) = &op.metadata {
            map.serialize_entry("metadata", &Written(metadata, enums))?;
        }
        if op.done {
            map.serialize_entry("done", &true)?;
        }
        match &op.result {
            Some(operation::Result::Error(status)) => {
                map.serialize_entry("error", &Written(status, enums))?;
            }
            Some(operation::Result::Response(response)) => {
                map.serialize_entry("response", &Written(response, enums))?;
            }
            None => {}
        }
        map.end()
    }
}

/// A page of operations as proto3 JSON.
#[derive(Clone, Copy, Debug)]
pub struct ListOperationsResponseJson<'a>(pub &'a ListOperationsResponse);

impl Serialize for ListOperationsResponseJson<'_> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        Written(self.0, Enums::Names).serialize(out)
    }
}

impl Serialize for Written<'_, ListOperationsResponse> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        let (page, enums) = (self.0, self.1);
        let mut map = out.serialize_map(None)?;
        if !page.operations.is_empty() {
            let each = Each(&page.operations, |op| Written(op, enums));
            map.serialize_entry("operations", &each)?;
        }
        if !page.next_page_token.is_empty() {
            map.serialize_entry("nextPageToken", &page.next_page_token)?;
        }
        if !page.unreachable.is_empty() {
            map.serialize_entry("unreachable", &page.unreachable)?;
        }
        map.end()
    }
}

/// A `google.rpc.Status` as proto3 JSON.
#[derive(Clone, Copy, Debug)]
pub struct StatusJson<'a>(pub &'a Status);

impl Serialize for StatusJson<'_> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        Written(self.0, Enums::Names).serialize(out)
    }
}

impl Serialize for Written<'_, Status> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        let (status, enums) = (self.0, self.1);
        let mut map = out.serialize_map(None)?;
        if status.code != 0 {
            map.serialize_entry("code", &status.code)?;
        }
        if !status.message.is_empty() {
            map.serialize_entry("message", &status.message)?;
        }
        if !status.details.is_empty() {
            let each = Each(&status.details, |any| Written(any, enums));
            map.serialize_entry("details", &each)?;
        }
        map.end()
    }
}

/// Every item of a list, each written as `F` writes it.
struct Each<'a, T, F>(&'a [T], F);

impl<'a, T, W: Serialize, F: Fn(&'a T) -> W> Serialize for Each<'a, T, F> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        let mut seq = out.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&(self.1)(item))?;
        }
        seq.end()
    }
}

/// An `Any`: Earth Engine metadata field by field, an empty `Empty` as its
/// type alone, anything else as the descriptor-driven printer writes it.
impl Serialize for Written<'_, prost_types::Any> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        let (any, enums) = (self.0, self.1);
        if EARTH_ENGINE_METADATA_TYPE_URLS.contains(&any.type_url.as_str())
            && let Ok(metadata) = OperationMetadata::decode(any.value.as_slice())
        {
            let mut map = out.serialize_map(None)?;
            map.serialize_entry("@type", &any.type_url)?;
            metadata_fields(&mut map, &metadata, enums)?;
            return map.end();
        }
        if any.type_url.ends_with(EMPTY) && any.value.is_empty() {
            let mut map = out.serialize_map(Some(1))?;
            map.serialize_entry("@type", &any.type_url)?;
            return map.end();
        }
        any_to_json_with(any, enums).serialize(out)
    }
}

fn metadata_fields<M: SerializeMap>(
    map: &mut M,
    m: &OperationMetadata,
    enums: Enums,
) -> Result<(), M::Error> {
    if m.state != 0 {
        let name = State::try_from(m.state)
            .ok()
            .map(|state| state.as_str_name());
        map.serialize_entry("state", &EnumJson(name, m.state, enums))?;
    }
    text(map, "description", &m.description)?;
    text(map, "type", &m.r#type)?;
    if m.priority != 0 {
        map.serialize_entry("priority", &m.priority)?;
    }
    time(map, "createTime", m.create_time.as_ref())?;
    time(map, "updateTime", m.update_time.as_ref())?;
    time(map, "startTime", m.start_time.as_ref())?;
    time(map, "endTime", m.end_time.as_ref())?;
    double(map, "progress", m.progress)?;
    if !m.stages.is_empty() {
        map.serialize_entry("stages", &Each(&m.stages, StageJson))?;
    }
    if m.attempt != 0 {
        map.serialize_entry("attempt", &m.attempt)?;
    }
    text(map, "scriptUri", &m.script_uri)?;
    if !m.destination_uris.is_empty() {
        map.serialize_entry("destinationUris", &m.destination_uris)?;
    }
    if !m.notifications.is_empty() {
        let each = Each(&m.notifications, |n| NotificationJson(n, enums));
        map.serialize_entry("notifications", &each)?;
    }
    double(map, "batchEecuUsageSeconds", m.batch_eecu_usage_seconds)
}

struct StageJson<'a>(&'a OperationStage);

impl Serialize for StageJson<'_> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        let stage = self.0;
        let mut map = out.serialize_map(None)?;
        text(&mut map, "displayName", &stage.display_name)?;
        if stage.complete_work_units != 0 {
            map.serialize_entry("completeWorkUnits", &stage.complete_work_units)?;
        }
        if stage.total_work_units != 0 {
            // int64 is a string in proto3 JSON.
            map.serialize_entry("totalWorkUnits", &stage.total_work_units.to_string())?;
        }
        text(&mut map, "description", &stage.description)?;
        map.end()
    }
}

struct NotificationJson<'a>(&'a OperationNotification, Enums);

impl Serialize for NotificationJson<'_> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        let notification = self.0;
        let mut map = out.serialize_map(None)?;
        if notification.severity != 0 {
            let name = Severity::try_from(notification.severity)
                .ok()
                .map(|severity| severity.as_str_name());
            let severity = EnumJson(name, notification.severity, self.1);
            map.serialize_entry("severity", &severity)?;
        }
        text(&mut map, "topic", &notification.topic)?;
        text(&mut map, "detail", &notification.detail)?;
        map.end()
    }
}

/// An enum value by name, or by number when asked or when this crate has
/// no name for it.
struct EnumJson(Option<&'static str>, i32, Enums);

impl Serialize for EnumJson {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        match (self.0, self.2) {
            (Some(name), Enums::Names) => out.serialize_str(name),
            _ => out.serialize_i32(self.1),
        }
    }
}

fn text<M: SerializeMap>(map: &mut M, key: &'static str, value: &str) -> Result<(), M::Error> {
    if value.is_empty() {
        return Ok(());
    }
    map.serialize_entry(key, value)
}

fn double<M: SerializeMap>(map: &mut M, key: &'static str, value: f64) -> Result<(), M::Error> {
    // Either zero is the default (the wire form does not keep -0.0 either).
    if value == 0.0 {
        return Ok(());
    }
    map.serialize_entry(key, &float(value))
}

fn time<M: SerializeMap>(
    map: &mut M,
    key: &'static str,
    value: Option<&prost_types::Timestamp>,
) -> Result<(), M::Error> {
    match value {
        Some(timestamp) => map.serialize_entry(key, &timestamp::format(timestamp)),
        None => Ok(()),
    }
}
