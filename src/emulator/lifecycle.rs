//! How an emulated operation looks at any moment: a pure function of its
//! script and the clock, so no background task drives it and a paused clock
//! works as well as a real one.

use std::time::{Duration, SystemTime};

use prost::Message;
use tokio::time::Instant;

use crate::proto::EARTH_ENGINE_METADATA_TYPE_URLS;
use crate::proto::earthengine::{OperationMetadata, OperationStage, State};
use crate::proto::longrunning::{Operation, operation};
use crate::proto::rpc::{Code, Status};
use prost_types::Timestamp;

/// Milliseconds since the emulator's epoch; negative for operations seeded
/// as having been created before the emulator started.
pub(crate) type Millis = i64;

/// The emulator's clock: a monotonic epoch plus the wall time it stands for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    epoch: Instant,
    wall: SystemTime,
}

impl Clock {
    /// A clock whose wall time is whole milliseconds, so that timestamps
    /// print with three fractional digits as Earth Engine's do (some
    /// clients, the Earth Engine Python client among them, cannot parse
    /// nine).
    pub(crate) fn start() -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let whole_millis =
            Duration::from_millis(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX));
        Self {
            epoch: Instant::now(),
            wall: SystemTime::UNIX_EPOCH + whole_millis,
        }
    }

    pub(crate) fn now(&self) -> Millis {
        millis(Instant::now().saturating_duration_since(self.epoch))
    }

    pub(crate) fn instant(&self, at: Millis) -> Instant {
        self.epoch + Duration::from_millis(u64::try_from(at).unwrap_or(0))
    }

    fn wall_time(&self, at: Millis) -> SystemTime {
        let offset = Duration::from_millis(at.unsigned_abs());
        if at >= 0 {
            self.wall + offset
        } else {
            self.wall
                .checked_sub(offset)
                .unwrap_or(SystemTime::UNIX_EPOCH)
        }
    }
}

pub(crate) fn millis(duration: Duration) -> Millis {
    Millis::try_from(duration.as_millis()).unwrap_or(Millis::MAX)
}

/// How a scripted operation ends if nobody cancels it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Ending {
    Succeed,
    Fail { code: Code, message: String },
}

/// The script of one operation, in emulator time.
#[derive(Clone, Debug)]
pub(crate) struct Script {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) description: String,
    pub(crate) priority: i32,
    pub(crate) destination_uris: Vec<String>,
    pub(crate) created: Millis,
    pub(crate) queue: Millis,
    /// `None`: runs until cancelled.
    pub(crate) run: Option<Millis>,
    pub(crate) ending: Ending,
    pub(crate) cancel_requested: Option<Millis>,
    pub(crate) cancel_latency: Millis,
}

const STAGES: [(&str, &str, i64); 3] = [
    (
        "Preparing",
        "Validating the request and planning the work",
        1,
    ),
    ("Computing", "Computing the result", 100),
    ("Writing", "Writing the output", 10),
];

/// EECU-seconds used per second of running.
const EECU_PER_SECOND: f64 = 0.25;

/// Progress reported by scripts that fail: they never get to the end.
const FAILING_PROGRESS_SCALE: f64 = 0.7;

/// A long-running operation approaches completion but never reaches it:
/// progress is `t / (t + HALF_WAY)`.
const UNBOUNDED_HALF_WAY: f64 = 600_000.0;

impl Script {
    fn start(&self) -> Millis {
        self.created.saturating_add(self.queue)
    }

    fn natural_end(&self) -> Option<Millis> {
        self.run.map(|run| self.start().saturating_add(run))
    }

    /// When a cancel request takes effect, if one does (one arriving after
    /// the natural end changes nothing).
    fn cancelled_at(&self) -> Option<Millis> {
        let requested = self.cancel_requested?;
        match self.natural_end() {
            Some(end) if requested >= end => None,
            _ => Some(requested),
        }
    }

    /// When the operation is (or will be) done, if that is known.
    pub(crate) fn done_at(&self) -> Option<Millis> {
        match self.cancelled_at() {
            Some(cancel) => Some(cancel.saturating_add(self.cancel_latency)),
            None => self.natural_end(),
        }
    }

    /// Records a cancel request; one on a finished or already cancelling
    /// operation changes nothing.
    pub(crate) fn request_cancel(&mut self, now: Millis) -> bool {
        let finished = self.done_at().is_some_and(|done| now >= done);
        if finished || self.cancel_requested.is_some() {
            return false;
        }
        self.cancel_requested = Some(now);
        true
    }

    fn progress_at(&self, at: Millis) -> f64 {
        let running = (at - self.start()).max(0) as f64;
        let scale = match self.ending {
            Ending::Succeed => 1.0,
            Ending::Fail { .. } => FAILING_PROGRESS_SCALE,
        };
        match self.run {
            Some(0) => scale,
            Some(run) => (running / run as f64).min(1.0) * scale,
            None => running / (running + UNBOUNDED_HALF_WAY),
        }
    }

    pub(crate) fn state_at(&self, now: Millis) -> State {
        let done = self.done_at().is_some_and(|done| now >= done);
        match (done, self.cancelled_at()) {
            (true, Some(_)) => State::Cancelled,
            (true, None) => match self.ending {
                Ending::Succeed => State::Succeeded,
                Ending::Fail { .. } => State::Failed,
            },
            (false, Some(cancel)) if now >= cancel => State::Cancelling,
            (false, _) if now >= self.start() => State::Running,
            (false, _) => State::Pending,
        }
    }

    /// The operation as Get would return it at `now`.
    pub(crate) fn snapshot(&self, now: Millis, clock: &Clock) -> Operation {
        let state = self.state_at(now);
        let start = self.start();
        // Time stops for progress once work stops.
        let work_end = match state {
            State::Cancelling | State::Cancelled => self.cancelled_at().unwrap_or(now),
            State::Succeeded | State::Failed => self.natural_end().unwrap_or(now),
            _ => now,
        }
        .min(now);
        // A task cancelled while still queued never starts.
        let started = now >= start && self.cancelled_at().is_none_or(|cancel| cancel > start);
        let progress = match state {
            State::Succeeded => 1.0,
            State::Pending => 0.0,
            _ if !started => 0.0,
            _ => self.progress_at(work_end),
        };
        let updated = match state {
            State::Pending => self.created,
            State::Cancelling => self.cancelled_at().unwrap_or(now),
            State::Running => now,
            _ => self.done_at().unwrap_or(now),
        };
        let eecu_seconds = if started {
            (work_end - start).max(0) as f64 / 1000.0 * EECU_PER_SECOND
        } else {
            0.0
        };
        let metadata = OperationMetadata {
            state: state as i32,
            description: self.description.clone(),
            r#type: self.kind.clone(),
            priority: self.priority,
            create_time: Some(Timestamp::from(clock.wall_time(self.created))),
            update_time: Some(Timestamp::from(clock.wall_time(updated))),
            start_time: started.then(|| Timestamp::from(clock.wall_time(start))),
            end_time: state
                .is_terminal()
                .then(|| Timestamp::from(clock.wall_time(self.done_at().unwrap_or(now)))),
            progress,
            stages: if started {
                stages(progress)
            } else {
                Vec::new()
            },
            attempt: i32::from(started),
            destination_uris: self.destination_uris.clone(),
            batch_eecu_usage_seconds: eecu_seconds,
            ..Default::default()
        };
        let result = match state {
            State::Succeeded => Some(operation::Result::Response(prost_types::Any {
                type_url: "type.googleapis.com/google.protobuf.Empty".into(),
                value: Vec::new(),
            })),
            State::Cancelled => Some(operation::Result::Error(Status {
                code: Code::Cancelled as i32,
                message: "Cancelled.".into(),
                details: Vec::new(),
            })),
            State::Failed => match &self.ending {
                Ending::Fail { code, message } => Some(operation::Result::Error(Status {
                    code: *code as i32,
                    message: message.clone(),
                    details: Vec::new(),
                })),
                Ending::Succeed => None,
            },
            _ => None,
        };
        Operation {
            name: self.name.clone(),
            metadata: Some(prost_types::Any {
                type_url: EARTH_ENGINE_METADATA_TYPE_URLS[0].into(),
                value: metadata.encode_to_vec(),
            }),
            done: state.is_terminal(),
            result,
        }
    }
}

/// The stages, each complete in turn as progress passes its share.
fn stages(progress: f64) -> Vec<OperationStage> {
    let share = 1.0 / STAGES.len() as f64;
    STAGES
        .iter()
        .enumerate()
        .map(|(index, (name, description, total))| {
            let done = ((progress - index as f64 * share) / share).clamp(0.0, 1.0);
            OperationStage {
                display_name: (*name).into(),
                complete_work_units: (done * *total as f64).floor() as i32,
                total_work_units: *total,
                description: (*description).into(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(queue: Millis, run: Option<Millis>, ending: Ending) -> Script {
        Script {
            name: "projects/p/operations/X".into(),
            kind: "EXPORT_IMAGE".into(),
            description: "d".into(),
            priority: 100,
            destination_uris: vec![],
            created: 0,
            queue,
            run,
            ending,
            cancel_requested: None,
            cancel_latency: 200,
        }
    }

    fn metadata(op: &Operation) -> OperationMetadata {
        op.earth_engine_metadata().unwrap_or_default()
    }

    #[test]
    fn pending_running_succeeded_with_advancing_progress() {
        let clock = Clock::start();
        let s = script(1_000, Some(4_000), Ending::Succeed);
        assert_eq!(s.state_at(500), State::Pending);
        let running = s.snapshot(3_000, &clock);
        let m = metadata(&running);
        assert_eq!(m.state(), State::Running);
        assert!((m.progress - 0.5).abs() < 1e-9);
        assert!(m.start_time.is_some() && m.end_time.is_none());
        assert_eq!(m.stages[0].complete_work_units, 1);
        assert!(!running.done);
        let done = s.snapshot(5_000, &clock);
        assert!(done.done);
        assert_eq!(metadata(&done).state(), State::Succeeded);
        assert!(matches!(done.result, Some(operation::Result::Response(_))));
        assert!(metadata(&done).end_time.is_some());
    }

    #[test]
    fn timestamps_are_whole_milliseconds() {
        let clock = Clock::start();
        let op = script(0, Some(1_000), Ending::Succeed).snapshot(1_500, &clock);
        let metadata = metadata(&op);
        for time in [
            metadata.create_time,
            metadata.start_time,
            metadata.end_time,
            metadata.update_time,
        ] {
            let time = time.expect("set");
            assert_eq!(time.nanos % 1_000_000, 0, "{time}");
        }
    }

    #[test]
    fn cancel_goes_through_cancelling_to_cancelled_with_code_1() {
        let clock = Clock::start();
        let mut s = script(0, None, Ending::Succeed);
        assert!(s.request_cancel(10_000));
        assert!(!s.request_cancel(10_050), "second cancel changes nothing");
        assert_eq!(s.state_at(10_100), State::Cancelling);
        let done = s.snapshot(10_200, &clock);
        assert!(done.done);
        assert_eq!(metadata(&done).state(), State::Cancelled);
        match done.result {
            Some(operation::Result::Error(status)) => assert_eq!(status.code, 1),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn cancel_of_a_finished_operation_changes_nothing() {
        let mut s = script(
            0,
            Some(100),
            Ending::Fail {
                code: Code::Internal,
                message: "boom".into(),
            },
        );
        assert!(!s.request_cancel(500));
        assert_eq!(s.state_at(1_000), State::Failed);
    }

    #[test]
    fn cancel_of_a_queued_operation_never_starts_it() {
        let clock = Clock::start();
        let mut s = script(60_000, Some(1_000), Ending::Succeed);
        assert!(s.request_cancel(10));
        let done = s.snapshot(1_000, &clock);
        let m = metadata(&done);
        assert_eq!(m.state(), State::Cancelled);
        assert!(m.start_time.is_none());
        assert_eq!(m.progress, 0.0);
    }
}
