//! Totals over a set of operations: how many in each state and of each
//! type, EECU-hours used, and the median time tasks waited in the queue and
//! ran. Gathered one operation at a time (a [`Tally`]), so a list is summed
//! up as it arrives; `eeops summary` prints the totals and `eeops report`
//! heads its page with the same headline.
//!
//! ```ignore
//! let mut tally = Tally::default();
//! operations.iter().for_each(|op| tally.add(op));
//! println!("{}", tally.finish().headline()); // 38 running · 12 pending · 4 failed · 1,234 EECU-h
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use eeops::earthengine::State;
use eeops::longrunning::Operation;

use super::human;
use super::task::Task;

/// The order states are listed in: live work first, then how work ended.
const STATE_ORDER: [State; 7] = [
    State::Running,
    State::Pending,
    State::Cancelling,
    State::Failed,
    State::Cancelled,
    State::Succeeded,
    State::Unspecified,
];

/// Totals over operations; see [`Tally`].
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Summary {
    /// How many operations.
    pub(crate) total: usize,
    /// How many in each state, in [`STATE_ORDER`], states with none left out.
    pub(crate) by_state: Vec<(State, usize)>,
    /// How many of each type (`""` for operations without one), by name.
    pub(crate) by_type: BTreeMap<String, usize>,
    /// EECU-seconds used, all operations together.
    pub(crate) eecu_seconds: f64,
    /// The median time from creation to start, of operations that started.
    pub(crate) median_queue: Option<Duration>,
    /// The median time from start to end, of operations that ended.
    pub(crate) median_run: Option<Duration>,
}

impl Summary {
    /// How many operations are in `state`.
    pub(crate) fn count(&self, state: State) -> usize {
        self.by_state
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, count)| *count)
    }

    /// EECU-hours, rounded for reading: `0.4`, `12.5`, `1,234`.
    pub(crate) fn eecu_hours(&self) -> String {
        let hours = self.eecu_seconds / 3600.0;
        if hours < 100.0 {
            format!("{hours:.1}")
        } else {
            human::thousands(hours.round() as u64)
        }
    }

    /// `38 running · 12 pending · 4 failed · 1,234 EECU-h`.
    pub(crate) fn headline(&self) -> String {
        let mut parts: Vec<String> = self
            .by_state
            .iter()
            .map(|(state, count)| {
                format!("{} {}", human::thousands(*count as u64), state_word(*state))
            })
            .collect();
        if parts.is_empty() {
            parts.push("no operations".into());
        }
        parts.push(format!("{} EECU-h", self.eecu_hours()));
        parts.join(" · ")
    }

    /// The headline, then types and median times, a line each.
    pub(crate) fn text(&self) -> String {
        let mut out = self.headline();
        if !self.by_type.is_empty() {
            let types: Vec<String> = self
                .by_type
                .iter()
                .map(|(kind, count)| {
                    let kind = if kind.is_empty() { "(no type)" } else { kind };
                    format!("{count} {kind}")
                })
                .collect();
            out.push_str(&format!("\ntypes: {}", types.join(" · ")));
        }
        let show = |d: Option<Duration>| d.map_or_else(|| "-".into(), human::span);
        out.push_str(&format!(
            "\nmedian queue {} · median run {}",
            show(self.median_queue),
            show(self.median_run)
        ));
        out
    }

    /// The same as JSON, for scripts.
    pub(crate) fn json(&self) -> serde_json::Value {
        let states: serde_json::Map<String, serde_json::Value> = self
            .by_state
            .iter()
            .map(|(state, count)| (state.as_str_name().to_owned(), (*count).into()))
            .collect();
        serde_json::json!({
            "total": self.total,
            "byState": states,
            "byType": self.by_type,
            "eecuSeconds": self.eecu_seconds,
            "medianQueueSeconds": self.median_queue.map(|d| d.as_secs_f64()),
            "medianRunSeconds": self.median_run.map(|d| d.as_secs_f64()),
        })
    }
}

/// A [`Summary`] gathered one operation at a time, so that a list need not
/// be kept to be summed up: only counters and the durations the medians need.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    total: usize,
    states: BTreeMap<i32, usize>,
    by_type: BTreeMap<String, usize>,
    eecu_seconds: f64,
    queued: Vec<Duration>,
    ran: Vec<Duration>,
}

impl Tally {
    /// Counts one more operation.
    pub(crate) fn add(&mut self, op: &Operation) {
        let task = Task::new(op);
        self.total += 1;
        *self.states.entry(task.state() as i32).or_default() += 1;
        match self.by_type.get_mut(task.kind()) {
            Some(count) => *count += 1,
            None => {
                self.by_type.insert(task.kind().to_owned(), 1);
            }
        }
        self.eecu_seconds += task.eecu_seconds().max(0.0);
        let (created, started, ended) =
            (task.created(), task.meta.started_at(), task.meta.ended_at());
        if let (Some(created), Some(started)) = (created, started) {
            self.queued.extend(started.duration_since(created).ok());
        }
        if let (Some(started), Some(ended)) = (started, ended) {
            self.ran.extend(ended.duration_since(started).ok());
        }
    }

    /// The totals of every operation added.
    pub(crate) fn finish(self) -> Summary {
        let by_state = STATE_ORDER
            .iter()
            .filter_map(|state| {
                self.states
                    .get(&(*state as i32))
                    .map(|count| (*state, *count))
            })
            .collect();
        Summary {
            total: self.total,
            by_state,
            by_type: self.by_type,
            eecu_seconds: self.eecu_seconds,
            median_queue: median(self.queued),
            median_run: median(self.ran),
        }
    }
}

fn state_word(state: State) -> &'static str {
    match state {
        State::Running => "running",
        State::Pending => "pending",
        State::Cancelling => "cancelling",
        State::Failed => "failed",
        State::Cancelled => "cancelled",
        State::Succeeded => "succeeded",
        // Unspecified, or a state added later.
        _ => "unknown",
    }
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(mut values: Vec<Duration>) -> Option<Duration> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eeops::earthengine::OperationMetadata;

    /// Sums up `operations` the way the commands do, one at a time.
    fn summary_of(operations: &[Operation]) -> Summary {
        let mut tally = Tally::default();
        operations.iter().for_each(|op| tally.add(op));
        tally.finish()
    }

    fn op(state: State, kind: &str, eecu: f64, times: Option<(i64, i64, i64)>) -> Operation {
        let at = |seconds: i64| {
            Some(prost_types::Timestamp {
                seconds: 1_800_000_000 + seconds,
                nanos: 0,
            })
        };
        let mut metadata = OperationMetadata {
            state: state as i32,
            r#type: kind.into(),
            batch_eecu_usage_seconds: eecu,
            ..Default::default()
        };
        if let Some((created, started, ended)) = times {
            metadata.create_time = at(created);
            metadata.start_time = at(started);
            metadata.end_time = at(ended);
        }
        Operation {
            name: "projects/p/operations/X".into(),
            metadata: Some(prost_types::Any {
                type_url: eeops::EARTH_ENGINE_METADATA_TYPE_URLS[0].into(),
                value: prost::Message::encode_to_vec(&metadata),
            }),
            done: state.is_terminal(),
            result: None,
        }
    }

    #[test]
    fn counts_sums_and_medians() {
        let ops = [
            op(State::Running, "EXPORT_IMAGE", 0.0, None),
            op(State::Running, "EXPORT_IMAGE", 0.0, None),
            op(State::Pending, "INGEST_IMAGE", 0.0, None),
            op(State::Failed, "EXPORT_IMAGE", 3_600.0, Some((0, 10, 70))),
            op(
                State::Succeeded,
                "EXPORT_TABLE",
                4_438_800.0,
                Some((0, 30, 330)),
            ),
            op(State::Succeeded, "EXPORT_TABLE", 0.0, Some((0, 50, 650))),
        ];
        let summary = summary_of(&ops);
        assert_eq!(summary.total, 6);
        assert_eq!(
            summary.headline(),
            "2 running · 1 pending · 1 failed · 2 succeeded · 1,234 EECU-h"
        );
        assert_eq!(summary.by_type["EXPORT_IMAGE"], 3);
        assert_eq!(summary.median_queue, Some(Duration::from_secs(30)));
        assert_eq!(summary.median_run, Some(Duration::from_secs(300)));
        assert_eq!(summary_of(&[]).headline(), "no operations · 0.0 EECU-h");
    }

    #[test]
    fn even_counts_take_the_mean_of_the_middle_two() {
        let d = Duration::from_secs;
        assert_eq!(
            median(vec![d(4), d(1), d(3), d(2)]),
            Some(Duration::from_millis(2_500))
        );
        assert_eq!(median(vec![]), None);
    }
}
