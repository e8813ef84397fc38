//! [`Watch`]: many operations polled through one scheduler.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::policy::{PollingPolicy, jittered};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::proto::earthengine::State;
use crate::proto::longrunning::Operation;
use crate::proto::rpc::Code;
use crate::retry::is_transient;

/// One change seen by a [`Watch`].
#[derive(Clone, Debug)]
pub struct Change {
    /// The operation as it is now.
    pub operation: Operation,
    /// Its state before this change (`None` the first time it is seen).
    pub previous: Option<State>,
    /// Its state now.
    pub state: State,
}

impl Change {
    /// The operation's full name.
    pub fn name(&self) -> &str {
        &self.operation.name
    }
}

/// Watches one or many operations; see [`Client::watch`].
///
/// Defaults: at most 20 calls in flight and 90 requests per second in all
/// (Earth Engine allows 40 concurrent requests and 100 per second per
/// project); each operation is polled by the [`PollingPolicy`], and no more
/// often than its share of the request rate allows.
#[derive(Clone, Debug)]
#[must_use = "nothing happens until it is streamed"]
pub struct Watch {
    client: Client,
    names: Vec<String>,
    policy: PollingPolicy,
    max_in_flight: usize,
    requests_per_second: f64,
}

impl Watch {
    pub(crate) fn new(client: Client, names: Vec<String>) -> Self {
        Self {
            client,
            names,
            policy: PollingPolicy::default(),
            max_in_flight: 20,
            requests_per_second: 90.0,
        }
    }

    /// The polling policy (intervals, time limit).
    pub fn with_polling(mut self, policy: PollingPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The most calls in flight at once (at least 1).
    pub fn with_max_in_flight(mut self, limit: usize) -> Self {
        self.max_in_flight = limit.max(1);
        self
    }

    /// The most requests per second, all operations together.
    pub fn with_rate_limit(mut self, requests_per_second: f64) -> Self {
        if requests_per_second.is_finite() && requests_per_second > 0.0 {
            self.requests_per_second = requests_per_second;
        }
        self
    }

    /// Starts watching. The stream yields a [`Change`] whenever an
    /// operation's state, whole-percent progress or stage changes (and once
    /// when each is first seen), an error for an operation that cannot be
    /// watched (it then stops being watched; transient errors are retried),
    /// and ends when every operation is done — or, with a time limit, when
    /// it passes, after a DEADLINE_EXCEEDED error for each one still running.
    pub fn stream(self) -> WatchStream {
        let (events, receiver) = mpsc::channel(256);
        let task = tokio::spawn(drive(self, events));
        WatchStream { receiver, task }
    }
}

/// The changes of a [`Watch`]; use [`WatchStream::next`] or any `Stream`
/// combinator. Dropping it stops the watch.
pub struct WatchStream {
    receiver: mpsc::Receiver<Result<Change>>,
    task: tokio::task::JoinHandle<()>,
}

impl WatchStream {
    /// The next change, `None` when the watch is over.
    pub async fn next(&mut self) -> Option<Result<Change>> {
        self.receiver.recv().await
    }
}

impl Stream for WatchStream {
    type Item = Result<Change>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WatchStream")
    }
}

/// What is known of one watched operation.
struct Watched {
    name: String,
    last: Option<(State, i64, Option<String>)>,
    interval: Duration,
    finished: bool,
}

/// The scheduler: operations in order of when they are next due, one
/// request slot every `1 / rate` seconds, at most `max_in_flight` at once.
async fn drive(watch: Watch, events: mpsc::Sender<Result<Change>>) {
    let Watch {
        client,
        names,
        policy,
        max_in_flight,
        requests_per_second,
    } = watch;
    let mut watched: Vec<Watched> = names
        .into_iter()
        .map(|name| Watched {
            name,
            last: None,
            interval: policy.initial_interval,
            finished: false,
        })
        .collect();
    let deadline = policy.time_limit.map(|limit| Instant::now() + limit);
    let spacing = Duration::from_secs_f64(1.0 / requests_per_second);
    let permits = Arc::new(Semaphore::new(max_in_flight));
    let (answers, mut answered) = mpsc::unbounded_channel::<(usize, Result<Operation>)>();
    let mut due: BinaryHeap<Reverse<(Instant, usize)>> = (0..watched.len())
        .map(|index| Reverse((Instant::now(), index)))
        .collect();
    // The first request takes the first slot too, so that over any stretch
    // from the start, requests / time never exceeds the rate.
    let mut next_slot = Instant::now() + spacing;
    let mut active = watched.len();
    while active > 0 {
        let next_due = due.peek().map(|Reverse((at, _))| (*at).max(next_slot));
        tokio::select! {
            Some((index, answer)) = answered.recv() => {
                let entry = &mut watched[index];
                match answer {
                    Ok(operation) => {
                        let state = operation.state();
                        let metadata = operation.earth_engine_metadata();
                        let percent = metadata.as_ref().map_or(-1, |m| (m.progress_fraction() * 100.0).floor() as i64);
                        let stage = metadata.and_then(|m| {
                            m.stages
                                .iter()
                                .find(|s| i64::from(s.complete_work_units) < s.total_work_units)
                                .map(|s| s.display_name.clone())
                        });
                        let now = (state, percent, stage);
                        let previous = entry.last.as_ref().map(|(state, _, _)| *state);
                        let changed = entry.last.as_ref() != Some(&now);
                        entry.last = Some(now);
                        let done = operation.done;
                        if changed && events.send(Ok(Change { operation, previous, state, })).await.is_err() {
                            return;
                        }
                        if done {
                            entry.finished = true;
                            active -= 1;
                        } else {
                            entry.interval = policy.next_interval(entry.interval);
                            // Each operation's share of the rate: with N of them
                            // watched, none is polled more often than every N / rate.
                            let fair_share = Duration::from_secs_f64(active as f64 / requests_per_second);
                            due.push(Reverse((Instant::now() + jittered(entry.interval.max(fair_share)), index)));
                        }
                    }
                    Err(error) if is_transient(&error) => {
                        // A connection that broke or went silent has been
                        // replaced: look again soon, on the new one.
                        let wait = if error.is_no_reply() {
                            policy.initial_interval
                        } else {
                            error.retry_delay().unwrap_or(entry.interval).max(entry.interval)
                        };
                        due.push(Reverse((Instant::now() + jittered(wait), index)));
                    }
                    Err(error) => {
                        entry.finished = true;
                        active -= 1;
                        if events.send(Err(error)).await.is_err() {
                            return;
                        }
                    }
                }
            }
            () = sleep_until_option(next_due), if next_due.is_some() => {
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    // All slots busy: wait for an answer first.
                    match answered.recv().await {
                        Some(answer) => { let _ = answers.send(answer); }
                        None => return,
                    }
                    continue;
                };
                let Some(Reverse((_, index))) = due.pop() else { continue };
                // Each request takes the next slot of a fixed cadence. A wake-up
                // that came late (timers fire at millisecond granularity) keeps
                // the cadence instead of pushing every later slot back, but no
                // more than one slot of lateness is made up, so a quiet spell
                // never turns into a burst.
                let now = Instant::now();
                next_slot = next_slot.max(now.checked_sub(spacing).unwrap_or(now)) + spacing;
                let (client, name, answers) = (client.clone(), watched[index].name.clone(), answers.clone());
                tokio::spawn(async move {
                    let answer = client.get(&name).send().await;
                    drop(permit);
                    let _ = answers.send((index, answer));
                });
            }
            () = sleep_until_option(deadline), if deadline.is_some() => {
                for entry in watched.iter().filter(|entry| !entry.finished) {
                    let state = entry.last.as_ref().map_or("not yet seen", |(state, _, _)| state.as_str_name());
                    let error = Error::new(
                        Code::DeadlineExceeded,
                        format!("stopped watching {} at the time limit: it is {state}", entry.name),
                    );
                    if events.send(Err(error)).await.is_err() {
                        return;
                    }
                }
                return;
            }
        }
    }
}

async fn sleep_until_option(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
