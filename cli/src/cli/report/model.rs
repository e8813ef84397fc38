//! What the page needs, gathered in one pass over the listed operations:
//! a compact record per task for the timeline and the tables, and running
//! totals for the charts. Operations themselves are not kept.

use std::collections::BTreeMap;

use eeops::earthengine::State;
use eeops::longrunning::Operation;

use super::failures::Failures;
use super::time::{self, DAY, Millis};
use crate::cli::summary::Summary;

/// How a task ended, or that it has not: what its colour says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Outcome {
    Succeeded,
    Failed,
    Cancelled,
    /// Pending, running or being cancelled.
    Live,
}

impl Outcome {
    pub(crate) const ALL: [Self; 4] = [Self::Succeeded, Self::Failed, Self::Cancelled, Self::Live];

    pub(crate) fn of(state: State) -> Self {
        match state {
            State::Succeeded => Self::Succeeded,
            State::Failed => Self::Failed,
            State::Cancelled => Self::Cancelled,
            _ => Self::Live,
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Live => "still running",
        }
    }

    /// The CSS class that colours it.
    pub(crate) fn class(self) -> &'static str {
        match self {
            Self::Succeeded => "ok",
            Self::Failed => "fail",
            Self::Cancelled => "cancel",
            Self::Live => "live",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One task, as the page shows it.
#[derive(Clone, Debug)]
pub(crate) struct Task {
    pub(crate) id: String,
    pub(crate) description: String,
    pub(crate) kind: String,
    pub(crate) state: State,
    pub(crate) created: Option<Millis>,
    pub(crate) started: Option<Millis>,
    pub(crate) ended: Option<Millis>,
    pub(crate) eecu_seconds: f64,
    pub(crate) attempt: i32,
    /// The error's code name and message.
    pub(crate) error: Option<(String, String)>,
}

impl Task {
    pub(crate) fn from_operation(operation: &Operation) -> Self {
        let metadata = operation.earth_engine_metadata().unwrap_or_default();
        let at = |time: Option<std::time::SystemTime>| time.map(time::from_system_time);
        let created = at(metadata.created_at());
        // Servers can send anything: a phase never ends before it starts.
        let started = at(metadata.started_at()).map(|s| created.map_or(s, |c| s.max(c)));
        let ended = at(metadata.ended_at()).map(|e| started.or(created).map_or(e, |s| e.max(s)));
        let eecu = metadata.batch_eecu_usage_seconds;
        Self {
            id: operation.id().to_owned(),
            description: metadata.description.clone(),
            kind: metadata.r#type.clone(),
            state: operation.state(),
            created,
            started,
            ended,
            eecu_seconds: if eecu.is_finite() && eecu > 0.0 {
                eecu
            } else {
                0.0
            },
            attempt: metadata.attempt,
            error: operation
                .error()
                .map(|e| (e.code().as_str_name().to_owned(), e.message().to_owned())),
        }
    }

    pub(crate) fn outcome(&self) -> Outcome {
        Outcome::of(self.state)
    }

    /// From creation to the start, or to the end for a task that never
    /// started, or to `now` for one still queued.
    pub(crate) fn queued(&self, now: Millis) -> Option<(Millis, Millis)> {
        let created = self.created?;
        let until = self
            .started
            .or(self.ended)
            .unwrap_or_else(|| now.max(created));
        Some((created, until))
    }

    /// From the start to the end, or to `now` for a task still running.
    pub(crate) fn running(&self, now: Millis) -> Option<(Millis, Millis)> {
        let started = self.started?;
        Some((started, self.ended.unwrap_or_else(|| now.max(started))))
    }

    pub(crate) fn queue_wait(&self, now: Millis) -> Option<Millis> {
        self.queued(now).map(|(from, to)| to - from)
    }

    pub(crate) fn run_time(&self, now: Millis) -> Option<Millis> {
        self.running(now).map(|(from, to)| to - from)
    }

    /// The label the timeline shows: the description, or the id.
    pub(crate) fn label(&self) -> &str {
        if self.description.trim().is_empty() {
            &self.id
        } else {
            &self.description
        }
    }
}

/// Everything the page shows, built one task at a time.
#[derive(Debug)]
pub(crate) struct Report {
    /// When the report was made: the end of every unfinished bar.
    pub(crate) now: Millis,
    pub(crate) tasks: Vec<Task>,
    /// The totals `eeops summary` prints, over the same operations.
    pub(crate) summary: Summary,
    /// EECU-seconds by UTC day and task type, spread over the days a task ran.
    pub(crate) eecu_by_day: BTreeMap<(i64, String), f64>,
    /// Tasks that ended on each UTC day, by outcome (live ones never count).
    pub(crate) finished_by_day: BTreeMap<i64, [usize; 3]>,
    pub(crate) failures: Failures,
}

impl Report {
    pub(crate) fn new(now: Millis) -> Self {
        Self {
            now,
            tasks: Vec::new(),
            summary: Summary::default(),
            eecu_by_day: BTreeMap::new(),
            finished_by_day: BTreeMap::new(),
            failures: Failures::default(),
        }
    }

    pub(crate) fn add(&mut self, task: Task) {
        self.spread_eecu(&task);
        let outcome = task.outcome();
        if let (Some(ended), true) = (task.ended, outcome != Outcome::Live) {
            self.finished_by_day.entry(time::day_of(ended)).or_default()[outcome.index()] += 1;
        }
        if outcome == Outcome::Failed {
            let (code, message) = task
                .error
                .as_ref()
                .map_or(("UNKNOWN", "(no error message)"), |(c, m)| {
                    (c.as_str(), m.as_str())
                });
            self.failures.add(&task.id, code, message);
        }
        self.tasks.push(task);
    }

    /// Shares a task's EECU-seconds among the UTC days it ran on, in
    /// proportion to its running time on each.
    fn spread_eecu(&mut self, task: &Task) {
        if task.eecu_seconds <= 0.0 {
            return;
        }
        let Some((from, to)) = task.running(self.now).or(task.queued(self.now)) else {
            return;
        };
        let length = (to - from) as f64;
        let mut day = time::day_of(from);
        let last = time::day_of(to);
        while day <= last {
            let share = if length <= 0.0 || day == last && day == time::day_of(from) {
                1.0
            } else {
                let start = from.max(day * DAY);
                let end = to.min((day + 1) * DAY);
                (end - start).max(0) as f64 / length
            };
            if share > 0.0 {
                *self
                    .eecu_by_day
                    .entry((day, task.kind.clone()))
                    .or_default() += task.eecu_seconds * share;
            }
            day += 1;
        }
    }

    /// The first creation and the last end (or now), over every task.
    pub(crate) fn span(&self) -> Option<(Millis, Millis)> {
        let first = self.tasks.iter().filter_map(|t| t.created).min()?;
        let last = self
            .tasks
            .iter()
            .filter_map(|t| t.running(self.now).or(t.queued(self.now)).map(|(_, e)| e))
            .max()
            .unwrap_or(first);
        Some((first, last.max(first)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::report::time::HOUR;

    fn task(state: State, created: Millis, started: Option<Millis>, ended: Option<Millis>) -> Task {
        Task {
            id: format!("T{created}"),
            description: String::new(),
            kind: "EXPORT_IMAGE".into(),
            state,
            created: Some(created),
            started,
            ended,
            eecu_seconds: 100.0,
            attempt: 1,
            error: None,
        }
    }

    #[test]
    fn eecu_is_shared_among_the_days_a_task_ran() {
        let mut report = Report::new(10 * DAY);
        // Runs from 18:00 on day 1 to 06:00 on day 2: half on each.
        report.add(task(
            State::Succeeded,
            DAY + 17 * HOUR,
            Some(DAY + 18 * HOUR),
            Some(2 * DAY + 6 * HOUR),
        ));
        let kind = "EXPORT_IMAGE".to_owned();
        assert_eq!(report.eecu_by_day[&(1, kind.clone())], 50.0);
        assert_eq!(report.eecu_by_day[&(2, kind)], 50.0);
        assert_eq!(report.finished_by_day[&2], [1, 0, 0]);
    }

    #[test]
    fn unfinished_phases_end_now_and_never_run_backwards() {
        let now = 5 * HOUR;
        let queued = task(State::Pending, HOUR, None, None);
        assert_eq!(queued.queued(now), Some((HOUR, now)));
        assert_eq!(queued.running(now), None);
        let cancelled_in_queue = task(State::Cancelled, HOUR, None, Some(2 * HOUR));
        assert_eq!(cancelled_in_queue.queue_wait(now), Some(HOUR));
        let running = task(State::Running, HOUR, Some(2 * HOUR), None);
        assert_eq!(running.run_time(now), Some(3 * HOUR));
        let mut report = Report::new(now);
        for t in [queued, cancelled_in_queue, running] {
            report.add(t);
        }
        assert_eq!(report.finished_by_day[&0], [0, 0, 1]);
        assert_eq!(report.span(), Some((HOUR, now)));
    }
}
