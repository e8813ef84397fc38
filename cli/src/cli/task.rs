//! One operation seen as an Earth Engine task: the values every output
//! format shows, derived in one place.

use std::time::{Duration, SystemTime};

use eeops::earthengine::{OperationMetadata, State};
use eeops::longrunning::Operation;

/// An operation with its metadata decoded once.
pub(crate) struct Task<'a> {
    pub(crate) op: &'a Operation,
    /// Earth Engine's metadata; empty for operations of other services.
    pub(crate) meta: OperationMetadata,
}

impl<'a> Task<'a> {
    pub(crate) fn new(op: &'a Operation) -> Self {
        Self {
            op,
            meta: op.earth_engine_metadata().unwrap_or_default(),
        }
    }

    pub(crate) fn id(&self) -> &str {
        self.op.id()
    }

    pub(crate) fn state(&self) -> State {
        self.op.state()
    }

    pub(crate) fn state_name(&self) -> &'static str {
        self.op.state().as_str_name()
    }

    /// `42%`, or `-` while pending or when unknown.
    pub(crate) fn progress(&self) -> String {
        match self.op.earth_engine_metadata() {
            Some(metadata) if self.state() != State::Pending => {
                format!("{:.0}%", metadata.progress_fraction() * 100.0)
            }
            _ => "-".into(),
        }
    }

    /// Progress from 0 to 1 (done counts as 1 whatever the metadata says).
    pub(crate) fn fraction(&self) -> f64 {
        if self.op.done {
            1.0
        } else {
            self.meta.progress_fraction()
        }
    }

    pub(crate) fn kind(&self) -> &str {
        &self.meta.r#type
    }

    pub(crate) fn description(&self) -> &str {
        &self.meta.description
    }

    /// `CODE: message` of a failed or cancelled operation.
    pub(crate) fn error(&self) -> Option<String> {
        self.op
            .error()
            .map(|error| format!("{}: {}", error.code().as_str_name(), error.message()))
    }

    pub(crate) fn created(&self) -> Option<SystemTime> {
        self.meta.created_at()
    }

    pub(crate) fn updated(&self) -> Option<SystemTime> {
        self.meta.updated_at()
    }

    /// How long it ran (so far, while running).
    pub(crate) fn run_time(&self) -> Option<Duration> {
        let started = self.meta.started_at()?;
        let ended = self.meta.ended_at().unwrap_or_else(SystemTime::now);
        ended.duration_since(started).ok()
    }

    /// How long it waited in the queue (so far, while pending).
    pub(crate) fn queue_time(&self) -> Option<Duration> {
        let created = self.created()?;
        let started = self.meta.started_at().unwrap_or_else(SystemTime::now);
        started.duration_since(created).ok()
    }

    pub(crate) fn eecu_seconds(&self) -> f64 {
        self.meta.batch_eecu_usage_seconds
    }

    pub(crate) fn destinations(&self) -> &[String] {
        &self.meta.destination_uris
    }
}

/// RFC 3339 of a time, or an empty string.
pub(crate) fn rfc3339(time: Option<prost_types::Timestamp>) -> String {
    time.map(|t| t.to_string()).unwrap_or_default()
}
