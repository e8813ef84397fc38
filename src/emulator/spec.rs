//! [`OperationSpec`]: how tests and examples script an emulated operation.

use std::time::Duration;

use crate::proto::rpc::Code;

/// The script of one emulated operation: who owns it, what it is, how long
/// each phase lasts and how it ends.
///
/// Phases not set here use the emulator's timings (see
/// [`super::EmulatorBuilder`]).
///
/// ```
/// use eeops::emulator::OperationSpec;
/// use std::time::Duration;
///
/// let spec = OperationSpec::new("my-project")
///     .with_id("EXPORTTASK000000000000001")
///     .with_type("EXPORT_IMAGE")
///     .with_description("landcover 2020")
///     .with_queue_time(Duration::from_millis(100))
///     .with_run_time(Duration::from_secs(2))
///     .failing_with(eeops::rpc::Code::ResourceExhausted, "Computation timed out.");
/// # let _ = spec;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct OperationSpec {
    /// The project, or None for a name of the generic form `operations/{id}`.
    pub(crate) project: Option<String>,
    pub(crate) id: Option<String>,
    pub(crate) kind: String,
    pub(crate) description: String,
    pub(crate) priority: i32,
    pub(crate) destination_uris: Vec<String>,
    pub(crate) queue_time: Option<Duration>,
    pub(crate) run_time: RunTime,
    pub(crate) failure: Option<(Code, String)>,
    pub(crate) age: Duration,
    pub(crate) cancelled_after: Option<Duration>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum RunTime {
    Default,
    Fixed(Duration),
    UntilCancelled,
}

impl OperationSpec {
    /// An export in `project` with a generated id and the emulator's timings.
    pub fn new(project: impl Into<String>) -> Self {
        Self::in_project(Some(project.into()))
    }

    /// An export named `operations/{id}`, as services that use the generic
    /// bindings of `google/longrunning/operations.proto` name theirs
    /// (`/v1/operations/**`, listed under the parent `operations`).
    pub fn unscoped() -> Self {
        Self::in_project(None)
    }

    fn in_project(project: Option<String>) -> Self {
        Self {
            project,
            id: None,
            kind: "EXPORT_IMAGE".into(),
            description: String::new(),
            priority: 100,
            destination_uris: Vec::new(),
            queue_time: None,
            run_time: RunTime::Default,
            failure: None,
            age: Duration::ZERO,
            cancelled_after: None,
        }
    }

    /// The operation's full name, given its id.
    pub(crate) fn name_for(&self, id: &str) -> String {
        match &self.project {
            Some(project) => format!("projects/{project}/operations/{id}"),
            None => format!("operations/{id}"),
        }
    }

    /// The task id (the last name segment); generated when not set.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The task type, such as `EXPORT_IMAGE` or `INGEST_TABLE`.
    pub fn with_type(mut self, kind: impl Into<String>) -> Self {
        self.kind = kind.into();
        self
    }

    /// The task description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// The scheduling priority (Earth Engine's default is 100).
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Adds a destination URI.
    pub fn with_destination_uri(mut self, uri: impl Into<String>) -> Self {
        self.destination_uris.push(uri.into());
        self
    }

    /// How long the task stays PENDING.
    pub fn with_queue_time(mut self, queue: Duration) -> Self {
        self.queue_time = Some(queue);
        self
    }

    /// How long the task stays RUNNING before it ends.
    pub fn with_run_time(mut self, run: Duration) -> Self {
        self.run_time = RunTime::Fixed(run);
        self
    }

    /// The task runs until it is cancelled.
    pub fn running_until_cancelled(mut self) -> Self {
        self.run_time = RunTime::UntilCancelled;
        self
    }

    /// The task ends FAILED with this error instead of SUCCEEDED.
    pub fn failing_with(mut self, code: Code, message: impl Into<String>) -> Self {
        self.failure = Some((code, message.into()));
        self
    }

    /// The task was created this long before now (for histories).
    pub fn created_ago(mut self, age: Duration) -> Self {
        self.age = age;
        self
    }

    /// Someone asked to cancel the task this long after it was created.
    pub fn cancelled_after(mut self, after: Duration) -> Self {
        self.cancelled_after = Some(after);
        self
    }
}
