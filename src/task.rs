//! An operation read as an Earth Engine task: its metadata decoded once,
//! read through accessors with Rust names.

use std::time::SystemTime;

use crate::error::Error;
use crate::operation::{Metadata, Outcome, state_of};
use crate::proto::earthengine::{OperationMetadata, OperationNotification, OperationStage, State};
use crate::proto::longrunning::Operation;

/// An [`Operation`] with its metadata decoded once, for code that reads a
/// task's fields more than once ([`Operation::state`] and
/// [`Operation::earth_engine_metadata`] decode on every call).
///
/// Accessors that need Earth Engine's metadata answer `None` (or an empty
/// slice) for operations of other services and for metadata that could not
/// be decoded; the operation itself stays available.
///
/// ```
/// use eeops::{Client, Task};
/// use eeops::earthengine::State;
/// use eeops::emulator::{Emulator, OperationSpec};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eeops::Result<()> {
/// let emulator = Emulator::builder().start("127.0.0.1:0").await?;
/// let name = emulator.create(
///     OperationSpec::new("my-project")
///         .with_type("EXPORT_IMAGE")
///         .with_description("nightly mosaic"),
/// )?;
/// let client = Client::builder()
///     .with_endpoint(emulator.endpoint())
///     .with_credentials(eeops::Credentials::anonymous())
///     .build()?;
///
/// let task = Task::from(client.get(&name).await?);
/// assert_eq!(task.task_type(), Some("EXPORT_IMAGE"));
/// assert_eq!(task.description(), Some("nightly mosaic"));
/// assert!(!task.state().is_terminal());
/// assert!(task.created_at().is_some());
/// emulator.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    operation: Operation,
    metadata: Metadata,
}

impl From<Operation> for Task {
    fn from(operation: Operation) -> Self {
        Self::new(operation)
    }
}

impl Task {
    /// Decodes the operation's metadata, once.
    pub fn new(operation: Operation) -> Self {
        let metadata = operation.decoded_metadata();
        Self {
            operation,
            metadata,
        }
    }

    /// The operation as received.
    pub fn operation(&self) -> &Operation {
        &self.operation
    }

    /// The operation as received, taken back.
    pub fn into_operation(self) -> Operation {
        self.operation
    }

    /// The operation's full resource name.
    pub fn name(&self) -> &str {
        &self.operation.name
    }

    /// The task id: the name's last component after `/operations/`.
    pub fn id(&self) -> &str {
        self.operation.id()
    }

    /// Whether the operation is done.
    pub fn is_done(&self) -> bool {
        self.operation.done
    }

    /// The metadata as decoded ([`Operation::decoded_metadata`]).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Earth Engine's metadata, when that is what the operation carries and
    /// it decoded.
    pub fn earth_engine(&self) -> Option<&OperationMetadata> {
        match &self.metadata {
            Metadata::EarthEngine(metadata) => Some(metadata),
            _ => None,
        }
    }

    /// The task's state, as [`Operation::state`] gives it.
    pub fn state(&self) -> State {
        state_of(&self.operation, self.earth_engine())
    }

    /// How the operation ended, or that it has not.
    pub fn outcome(&self) -> Outcome {
        self.operation.outcome()
    }

    /// The error the operation ended with, if any.
    pub fn error(&self) -> Option<Error> {
        self.operation.error()
    }

    /// The kind of task (`EXPORT_IMAGE`, `INGEST_TABLE`, …), when the
    /// metadata names one.
    pub fn task_type(&self) -> Option<&str> {
        self.earth_engine()
            .map(OperationMetadata::task_type)
            .filter(|kind| !kind.is_empty())
    }

    /// The description the user gave the task, when it has one.
    pub fn description(&self) -> Option<&str> {
        self.earth_engine()
            .map(|metadata| metadata.description.as_str())
            .filter(|description| !description.is_empty())
    }

    /// Progress as a fraction in `0.0..=1.0`, when the metadata says.
    pub fn progress(&self) -> Option<f64> {
        self.earth_engine()
            .map(OperationMetadata::progress_fraction)
    }

    /// Scheduling priority (higher runs sooner), when the metadata says.
    pub fn priority(&self) -> Option<i32> {
        self.earth_engine().map(|metadata| metadata.priority)
    }

    /// Which attempt at running the task this is, from 1, when the metadata
    /// says.
    pub fn attempt(&self) -> Option<i32> {
        self.earth_engine()
            .map(|metadata| metadata.attempt)
            .filter(|attempt| *attempt > 0)
    }

    /// Batch compute used so far, in EECU-seconds, when the metadata says.
    pub fn eecu_seconds(&self) -> Option<f64> {
        self.earth_engine()
            .map(|metadata| metadata.batch_eecu_usage_seconds)
    }

    /// When the task was created.
    pub fn created_at(&self) -> Option<SystemTime> {
        self.earth_engine()?.created_at()
    }

    /// When the task last changed.
    pub fn updated_at(&self) -> Option<SystemTime> {
        self.earth_engine()?.updated_at()
    }

    /// When the task started running.
    pub fn started_at(&self) -> Option<SystemTime> {
        self.earth_engine()?.started_at()
    }

    /// When the task ended.
    pub fn ended_at(&self) -> Option<SystemTime> {
        self.earth_engine()?.ended_at()
    }

    /// The script that started the task, when the metadata names one.
    pub fn script_uri(&self) -> Option<&str> {
        self.earth_engine()
            .map(|metadata| metadata.script_uri.as_str())
            .filter(|uri| !uri.is_empty())
    }

    /// Where the task writes its results.
    pub fn destination_uris(&self) -> &[String] {
        self.earth_engine()
            .map_or(&[], |metadata| metadata.destination_uris.as_slice())
    }

    /// The stages of the task's work.
    pub fn stages(&self) -> &[OperationStage] {
        self.earth_engine()
            .map_or(&[], |metadata| metadata.stages.as_slice())
    }

    /// What the service told the user about the task.
    pub fn notifications(&self) -> &[OperationNotification] {
        self.earth_engine()
            .map_or(&[], |metadata| metadata.notifications.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::EARTH_ENGINE_METADATA_TYPE_URLS;
    use crate::proto::longrunning::operation;
    use crate::proto::rpc::Status;
    use prost::Message;

    fn export(metadata: &OperationMetadata) -> Operation {
        Operation {
            name: "projects/p/operations/ABC".into(),
            metadata: Some(prost_types::Any {
                type_url: EARTH_ENGINE_METADATA_TYPE_URLS[1].into(),
                value: metadata.encode_to_vec(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn accessors_read_earth_engine_metadata_by_rust_names() {
        let created = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let metadata = OperationMetadata {
            state: State::Cancelling as i32,
            r#type: "EXPORT_FEATURES".into(),
            description: "roads".into(),
            progress: 1.7,
            priority: 100,
            attempt: 2,
            batch_eecu_usage_seconds: 12.5,
            create_time: Some(created.into()),
            script_uri: "gs://b/script.js".into(),
            destination_uris: vec!["gs://b/roads.csv".into()],
            ..Default::default()
        };
        let task = Task::from(export(&metadata));
        assert_eq!(task.id(), "ABC");
        assert_eq!(task.earth_engine(), Some(&metadata));
        assert_eq!(task.state(), State::Cancelling);
        assert_eq!(task.task_type(), Some("EXPORT_FEATURES"));
        assert_eq!(task.description(), Some("roads"));
        assert_eq!(task.progress(), Some(1.0));
        assert_eq!(task.priority(), Some(100));
        assert_eq!(task.attempt(), Some(2));
        assert_eq!(task.eecu_seconds(), Some(12.5));
        assert_eq!(task.created_at(), Some(created));
        assert_eq!(task.started_at(), None);
        assert_eq!(task.script_uri(), Some("gs://b/script.js"));
        assert_eq!(task.destination_uris(), ["gs://b/roads.csv".to_owned()]);
        assert_eq!(task.operation().name, "projects/p/operations/ABC");
    }

    #[test]
    fn other_services_have_a_state_but_no_task_fields() {
        let failed = Operation {
            name: "operations/x".into(),
            done: true,
            metadata: Some(prost_types::Any {
                type_url: "type.googleapis.com/google.protobuf.Empty".into(),
                value: vec![],
            }),
            result: Some(operation::Result::Error(Status {
                code: 13,
                message: "boom".into(),
                details: vec![],
            })),
        };
        let task = Task::new(failed.clone());
        assert_eq!(task.state(), State::Failed);
        assert!(matches!(task.metadata(), Metadata::Other(_)));
        assert_eq!(task.earth_engine(), None);
        assert_eq!(task.task_type(), None);
        assert_eq!(task.description(), None);
        assert_eq!(task.progress(), None);
        assert!(task.destination_uris().is_empty());
        assert_eq!(
            task.error().map(|error| error.message().to_owned()),
            Some("boom".into())
        );
        assert_eq!(task.into_operation(), failed);
    }

    #[test]
    fn the_state_matches_the_operations_own() {
        for state in [State::Unspecified, State::Pending, State::Succeeded] {
            for done in [false, true] {
                let mut operation = export(&OperationMetadata {
                    state: state as i32,
                    ..Default::default()
                });
                operation.done = done;
                assert_eq!(Task::from(operation.clone()).state(), operation.state());
            }
        }
    }
}
