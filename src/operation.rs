//! Conveniences on [`Operation`]: its id, its outcome and its Earth Engine
//! metadata.

use std::time::{Duration, SystemTime};

use prost::Message;

use crate::error::Error;
use crate::json::kept_as_json;
use crate::metadata_numbering::unverified;
use crate::proto::EARTH_ENGINE_METADATA_TYPE_URLS;
use crate::proto::earthengine::{OperationMetadata, State};
use crate::proto::longrunning::{Operation, operation};
use crate::proto::rpc::Code;

/// An operation's `metadata`, decoded where this crate knows its type.
///
/// A type this crate does not know is kept as it came, and says how:
/// [`Metadata::Json`] over REST, [`Metadata::Other`] (protobuf bytes) over
/// gRPC.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Metadata {
    /// The operation carries no metadata.
    None,
    /// Earth Engine's task metadata (any API version).
    EarthEngine(Box<OperationMetadata>),
    /// Protobuf bytes (as gRPC carries them) of a type this crate does not
    /// decode, or bytes that did not decode as the type they claimed; kept
    /// exactly as received.
    Other(prost_types::Any),
    /// JSON (as REST carries it) of a type this crate does not know: the
    /// `Any`'s `value` is the UTF-8 text of a JSON object, its members but
    /// `@type`, and its type URL is the one that came. The operation's
    /// `metadata` field holds it with [`crate::json::JSON_ANY_PREFIX`] in
    /// front of the type URL, so that it is never taken for protobuf bytes;
    /// an `Any` under that prefix whose value is not a JSON object (which only
    /// a server sending the prefix itself could cause) is [`Metadata::Other`].
    Json(prost_types::Any),
    /// Earth Engine's task metadata whose field numbering is not known to be
    /// this crate's: it came over gRPC from a server that does not say it
    /// numbers the message as this crate does (Google publishes no field
    /// numbers for it). Kept as received, under its own type URL; over REST
    /// it would be read by its documented field names. The operation's
    /// `metadata` field holds it with [`crate::UNVERIFIED_METADATA_PREFIX`] in front
    /// of the type URL.
    Undecodable(prost_types::Any),
}

/// How an operation ended, or that it has not.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Still pending or running.
    NotDone,
    /// Finished successfully, with its response if any.
    Succeeded(Option<prost_types::Any>),
    /// Cancelled: done with `error.code = CANCELLED`.
    Cancelled(Error),
    /// Failed with an error.
    Failed(Error),
}

impl Operation {
    /// The last component of the name after `/operations/` (the Earth Engine
    /// task id), or the whole name when it has no such component.
    pub fn id(&self) -> &str {
        operation_id(&self.name)
    }

    /// The operation's `metadata`, decoded when it is Earth Engine's and its
    /// field numbering is known (see [`Metadata::Undecodable`]). Never fails:
    /// anything else is kept raw.
    pub fn decoded_metadata(&self) -> Metadata {
        let Some(any) = &self.metadata else {
            return Metadata::None;
        };
        if let Some(type_url) = unverified(&any.type_url) {
            return Metadata::Undecodable(prost_types::Any {
                type_url: type_url.to_owned(),
                value: any.value.clone(),
            });
        }
        if let Some(type_url) = kept_as_json(&any.type_url)
            // A server could send the prefix itself, over gRPC with protobuf
            // bytes: Json promises a JSON object, so anything else is Other.
            && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&any.value)
                .is_ok()
        {
            return Metadata::Json(prost_types::Any {
                type_url: type_url.to_owned(),
                value: any.value.clone(),
            });
        }
        if !EARTH_ENGINE_METADATA_TYPE_URLS.contains(&any.type_url.as_str()) {
            return Metadata::Other(any.clone());
        }
        match OperationMetadata::decode(any.value.as_slice()) {
            Ok(metadata) => Metadata::EarthEngine(Box::new(metadata)),
            Err(_) => Metadata::Other(any.clone()),
        }
    }

    /// Earth Engine's task metadata, if that is what the operation carries.
    ///
    /// Decodes the metadata on every call; a [`Task`](crate::Task) decodes
    /// it once and reads it through accessors.
    pub fn earth_engine_metadata(&self) -> Option<OperationMetadata> {
        match self.decoded_metadata() {
            Metadata::EarthEngine(metadata) => Some(*metadata),
            _ => None,
        }
    }

    /// How the operation ended, from `done`, `error` and `response`.
    pub fn outcome(&self) -> Outcome {
        if !self.done {
            return Outcome::NotDone;
        }
        match &self.result {
            Some(operation::Result::Error(status)) => {
                let error = Error::from_status(status.clone());
                if error.code() == Code::Cancelled {
                    Outcome::Cancelled(error)
                } else {
                    Outcome::Failed(error)
                }
            }
            Some(operation::Result::Response(response)) => {
                Outcome::Succeeded(Some(response.clone()))
            }
            None => Outcome::Succeeded(None),
        }
    }

    /// The task's state: Earth Engine's own when present, otherwise derived
    /// from `done` and `error` (a running operation of another service is
    /// reported as [`State::Running`]).
    ///
    /// Decodes the metadata on every call; a [`Task`](crate::Task) decodes
    /// it once for code that reads more than one field.
    pub fn state(&self) -> State {
        state_of(self, self.earth_engine_metadata().as_ref())
    }

    /// The error the operation ended with, if any.
    pub fn error(&self) -> Option<Error> {
        match &self.result {
            Some(operation::Result::Error(status)) => Some(Error::from_status(status.clone())),
            _ => None,
        }
    }
}

/// An operation's state from its metadata, already decoded, and else from
/// `done` and `error`.
pub(crate) fn state_of(operation: &Operation, metadata: Option<&OperationMetadata>) -> State {
    if let Some(state) = metadata
        .map(OperationMetadata::state)
        .filter(|state| *state != State::Unspecified)
    {
        return state;
    }
    match operation.outcome() {
        Outcome::NotDone => State::Running,
        Outcome::Succeeded(_) => State::Succeeded,
        Outcome::Cancelled(_) => State::Cancelled,
        Outcome::Failed(_) => State::Failed,
    }
}

/// The part of a resource name after its last `/operations/`, or the whole
/// name (names of other services may have slashes in their ids).
pub fn operation_id(name: &str) -> &str {
    name.rsplit_once("/operations/")
        .map_or(name, |(_, id)| id)
        .trim_start_matches("operations/")
}

impl OperationMetadata {
    /// The kind of task, such as `EXPORT_IMAGE` or `INGEST_TABLE`: the
    /// message's `type` field, a string rather than an enum.
    pub fn task_type(&self) -> &str {
        &self.r#type
    }

    /// When the task was created.
    pub fn created_at(&self) -> Option<SystemTime> {
        to_system_time(self.create_time)
    }

    /// When the task last changed.
    pub fn updated_at(&self) -> Option<SystemTime> {
        to_system_time(self.update_time)
    }

    /// When the task started running.
    pub fn started_at(&self) -> Option<SystemTime> {
        to_system_time(self.start_time)
    }

    /// When the task ended.
    pub fn ended_at(&self) -> Option<SystemTime> {
        to_system_time(self.end_time)
    }

    /// Progress as a fraction clamped to `0.0..=1.0` (servers can send
    /// anything).
    pub fn progress_fraction(&self) -> f64 {
        if self.progress.is_finite() {
            self.progress.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

fn to_system_time(timestamp: Option<prost_types::Timestamp>) -> Option<SystemTime> {
    timestamp.and_then(|t| SystemTime::try_from(t).ok())
}

/// Converts a std `Duration` into a protobuf `Duration`, saturating.
pub(crate) fn proto_duration(duration: Duration) -> prost_types::Duration {
    prost_types::Duration::try_from(duration).unwrap_or(prost_types::Duration {
        seconds: i64::MAX,
        nanos: 999_999_999,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::rpc::Status;

    fn with_metadata(type_url: &str, value: Vec<u8>) -> Operation {
        Operation {
            name: "projects/p/operations/ABC".into(),
            metadata: Some(prost_types::Any {
                type_url: type_url.into(),
                value,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn earth_engine_metadata_decodes_under_every_version() {
        let metadata = OperationMetadata {
            state: State::Running as i32,
            progress: 0.5,
            description: "export".into(),
            ..Default::default()
        };
        for url in EARTH_ENGINE_METADATA_TYPE_URLS {
            let op = with_metadata(url, metadata.encode_to_vec());
            assert_eq!(
                op.earth_engine_metadata().as_ref(),
                Some(&metadata),
                "{url}"
            );
            assert_eq!(op.state(), State::Running);
        }
    }

    #[test]
    fn unknown_or_broken_metadata_is_kept_raw() {
        let op = with_metadata("type.googleapis.com/google.protobuf.Struct", vec![1, 2]);
        assert!(matches!(op.decoded_metadata(), Metadata::Other(any) if any.value == vec![1, 2]));
        let broken = with_metadata(EARTH_ENGINE_METADATA_TYPE_URLS[0], vec![0xff; 3]);
        assert!(matches!(broken.decoded_metadata(), Metadata::Other(_)));
        assert_eq!(broken.state(), State::Running);
    }

    #[test]
    fn an_unknown_type_says_whether_it_came_as_json_or_protobuf() {
        const URL: &str = "type.googleapis.com/example.Progress";
        // Over REST: read from the JSON it came as.
        let text = format!(r#"{{"name":"x","metadata":{{"@type":"{URL}","percent":40}}}}"#);
        let over_rest = crate::json::parse_operation(&text).expect("an operation");
        let Metadata::Json(json) = over_rest.decoded_metadata() else {
            panic!("JSON kept as JSON: {:?}", over_rest.decoded_metadata());
        };
        assert_eq!(
            (json.type_url.as_str(), json.value.as_slice()),
            (URL, &br#"{"percent":40}"#[..])
        );
        // Over gRPC: decoded from the protobuf bytes it came as.
        let sent = with_metadata(URL, vec![8, 40]);
        let over_grpc = Operation::decode(sent.encode_to_vec().as_slice()).expect("an operation");
        let Metadata::Other(bytes) = over_grpc.decoded_metadata() else {
            panic!("bytes kept as bytes: {:?}", over_grpc.decoded_metadata());
        };
        assert_eq!(
            (bytes.type_url.as_str(), bytes.value.as_slice()),
            (URL, &[8, 40][..])
        );
        // A server sending the prefix itself with protobuf bytes gets no Json.
        let posing = with_metadata(
            &format!("{}{URL}", crate::json::JSON_ANY_PREFIX),
            vec![8, 40],
        );
        assert!(matches!(posing.decoded_metadata(), Metadata::Other(any) if any.value == [8, 40]));
        // Each prints as it came, under its own type URL.
        let printed = |op: &Operation| crate::json::operation_to_json(op)["metadata"].clone();
        assert_eq!(
            printed(&over_rest),
            serde_json::json!({"@type": URL, "percent": 40})
        );
        assert_eq!(
            printed(&over_grpc),
            serde_json::json!({"@type": URL, "value": "CCg="})
        );
    }

    #[test]
    fn outcome_follows_done_and_error() {
        let mut op = Operation {
            name: "operations/a/b".into(),
            done: true,
            result: Some(operation::Result::Error(Status {
                code: 1,
                message: "Cancelled.".into(),
                details: vec![],
            })),
            ..Default::default()
        };
        assert!(matches!(op.outcome(), Outcome::Cancelled(_)));
        assert_eq!(op.state(), State::Cancelled);
        op.result = Some(operation::Result::Error(Status {
            code: 13,
            message: "boom".into(),
            details: vec![],
        }));
        assert_eq!(op.state(), State::Failed);
        op.result = None;
        assert_eq!(op.state(), State::Succeeded);
    }

    #[test]
    fn ids_come_from_the_last_operations_segment() {
        assert_eq!(operation_id("projects/p/operations/ABC"), "ABC");
        assert_eq!(operation_id("operations/a/b"), "a/b");
        assert_eq!(operation_id("plain"), "plain");
    }
}
