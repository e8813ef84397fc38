//! Waiting on long-running operations: [`UntilDone`] for one, [`Watch`] for
//! many at once.
//!
//! `until_done` blocks on the server's WaitOperation where it works and falls
//! back to polling GetOperation with jittered backoff when the server answers
//! UNIMPLEMENTED (or the REST routes have no binding for it). `watch` yields
//! every change of state, progress or stage of one or thousands of
//! operations, polling them through one scheduler: bounded concurrency, a
//! request rate that stays under Earth Engine's quota, and per-operation
//! intervals stretched to fit that rate. Transient errors never end either.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::proto::earthengine::State;
use crate::proto::longrunning::Operation;
use crate::proto::rpc::Code;
use crate::retry::random_fraction;

/// How often to look at an operation, and for how long.
///
/// Defaults: first interval 1 s, growing by 1.5× up to 30 s; no time limit;
/// server-side waits of up to 60 s each.
#[derive(Clone, Debug, PartialEq)]
pub struct PollingPolicy {
    initial_interval: Duration,
    max_interval: Duration,
    multiplier: f64,
    time_limit: Option<Duration>,
    server_wait: Duration,
}

impl Default for PollingPolicy {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
            multiplier: 1.5,
            time_limit: None,
            server_wait: Duration::from_secs(60),
        }
    }
}

impl PollingPolicy {
    /// The default policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// The first interval between polls.
    #[must_use]
    pub fn with_initial_interval(mut self, interval: Duration) -> Self {
        self.initial_interval = interval;
        self
    }

    /// The longest interval between polls.
    #[must_use]
    pub fn with_max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = interval;
        self
    }

    /// How long to wait in all before giving up.
    #[must_use]
    pub fn with_time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = Some(limit);
        self
    }

    /// The longest single server-side wait.
    #[must_use]
    pub fn with_server_wait(mut self, wait: Duration) -> Self {
        self.server_wait = wait;
        self
    }

    /// The time limit, if any.
    pub fn time_limit(&self) -> Option<Duration> {
        self.time_limit
    }

    fn next_interval(&self, current: Duration) -> Duration {
        current
            .mul_f64(self.multiplier.max(1.0))
            .min(self.max_interval)
    }
}

/// A pause of about `interval`: between half and all of it, so that many
/// pollers do not fall into step.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.5 + 0.5 * random_fraction())
}

/// Errors that say "try again later" rather than "this will not work".
fn is_transient(error: &Error) -> bool {
    matches!(
        error.code(),
        Code::Unavailable
            | Code::ResourceExhausted
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::Internal
    )
}

/// Waits until one operation is done; see [`Client::until_done`].
#[derive(Clone, Debug)]
#[must_use = "nothing happens until it is sent or awaited"]
pub struct UntilDone {
    client: Client,
    name: String,
    policy: PollingPolicy,
    cancel_on_give_up: bool,
}

impl UntilDone {
    pub(crate) fn new(client: Client, name: String) -> Self {
        Self {
            client,
            name,
            policy: PollingPolicy::default(),
            cancel_on_give_up: false,
        }
    }

    /// The polling policy (intervals, time limit).
    pub fn with_polling(mut self, policy: PollingPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Asks the server to cancel the operation when the time limit passes.
    pub fn cancel_on_give_up(mut self, cancel: bool) -> Self {
        self.cancel_on_give_up = cancel;
        self
    }

    /// Waits; the done operation, or DEADLINE_EXCEEDED when the time limit
    /// passes first (naming the state it was left in).
    pub async fn send(self) -> Result<Operation> {
        let Self {
            client,
            name,
            policy,
            cancel_on_give_up,
        } = self;
        let deadline = policy.time_limit.map(|limit| Instant::now() + limit);
        let mut server_waits = true;
        let mut interval = policy.initial_interval;
        let mut latest: Option<Operation> = None;
        loop {
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if remaining.is_some_and(|r| r.is_zero()) {
                return Err(
                    give_up(&client, &name, &policy, latest.as_ref(), cancel_on_give_up).await,
                );
            }
            let started = Instant::now();
            let answer = if server_waits {
                let wait = policy.server_wait.min(remaining.unwrap_or(Duration::MAX));
                client.wait(&name).set_timeout(wait).send().await
            } else {
                client.get(&name).send().await
            };
            let pause = match answer {
                Ok(operation) if operation.done => return Ok(operation),
                Ok(operation) => {
                    latest = Some(operation);
                    // A server wait that came back early (or a poll) is
                    // followed by a pause, so a server that does not wait is
                    // not hammered.
                    let pause = interval.saturating_sub(started.elapsed());
                    interval = policy.next_interval(interval);
                    pause
                }
                Err(error) if server_waits && error.code() == Code::Unimplemented => {
                    tracing::debug!(%error, "WaitOperation unavailable; polling GetOperation");
                    server_waits = false;
                    continue;
                }
                Err(error) if is_transient(&error) => {
                    tracing::debug!(%error, "transient error while waiting; polling on");
                    let pause = error.retry_delay().unwrap_or(interval).max(interval);
                    interval = policy.next_interval(interval);
                    pause
                }
                Err(error) => return Err(error),
            };
            let pause = jittered(pause);
            let until = Instant::now() + pause;
            tokio::time::sleep_until(deadline.map_or(until, |d| d.min(until))).await;
        }
    }
}

async fn give_up(
    client: &Client,
    name: &str,
    policy: &PollingPolicy,
    latest: Option<&Operation>,
    cancel: bool,
) -> Error {
    let state = latest.map_or("not yet seen", |op| op.state().as_str_name());
    let limit = policy.time_limit.unwrap_or_default();
    let mut message = format!("gave up waiting for {name} after {limit:?}: it is {state}");
    if cancel {
        match client.cancel(name).await {
            Ok(()) => message.push_str("; cancel requested"),
            Err(error) => message.push_str(&format!("; cancelling it failed: {error}")),
        }
    }
    Error::new(Code::DeadlineExceeded, message)
}

impl std::future::IntoFuture for UntilDone {
    type Output = Result<Operation>;
    type IntoFuture = Pin<Box<dyn std::future::Future<Output = Result<Operation>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

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
                        let wait = error.retry_delay().unwrap_or(entry.interval).max(entry.interval);
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

impl Client {
    /// Waits until the operation is done: server-side waits where they work,
    /// polling otherwise; see [`UntilDone`].
    pub fn until_done(&self, name: impl Into<String>) -> UntilDone {
        UntilDone::new(self.clone(), name.into())
    }

    /// Watches operations for changes until they are done; see [`Watch`].
    pub fn watch<I, N>(&self, names: I) -> Watch
    where
        I: IntoIterator<Item = N>,
        N: Into<String>,
    {
        Watch::new(self.clone(), names.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use prost::Message;

    use super::*;
    use crate::operation::EARTH_ENGINE_METADATA_TYPE_URLS;
    use crate::options::CallContext;
    use crate::proto::earthengine::OperationMetadata;
    use crate::proto::longrunning::{
        CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
        ListOperationsResponse, WaitOperationRequest,
    };
    use crate::transport::{BoxFuture, Transport};

    /// What the fake server saw.
    #[derive(Debug, Default)]
    struct Seen {
        gets: AtomicUsize,
        waits: AtomicUsize,
        cancels: AtomicUsize,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
        request_times: Mutex<Vec<Instant>>,
    }

    /// Operations that finish a set time after the fake starts, on tokio's
    /// (paused) clock.
    #[derive(Debug)]
    struct Fake {
        start: Instant,
        done_after: HashMap<String, Duration>,
        serves_wait: bool,
        fail_every: usize,
        seen: Arc<Seen>,
    }

    impl Fake {
        fn new(ops: &[(&str, u64)]) -> Self {
            Self {
                start: Instant::now(),
                done_after: ops
                    .iter()
                    .map(|(n, s)| ((*n).to_owned(), Duration::from_secs(*s)))
                    .collect(),
                serves_wait: true,
                fail_every: 0,
                seen: Arc::default(),
            }
        }

        fn snapshot(&self, name: &str) -> Result<Operation> {
            let Some(after) = self.done_after.get(name) else {
                return Err(Error::new(Code::NotFound, format!("no {name}")));
            };
            let elapsed = self.start.elapsed();
            let done = elapsed >= *after;
            let metadata = OperationMetadata {
                state: if done {
                    State::Succeeded
                } else {
                    State::Running
                } as i32,
                progress: (elapsed.as_secs_f64() / after.as_secs_f64().max(1e-9)).min(1.0),
                ..Default::default()
            };
            Ok(Operation {
                name: name.to_owned(),
                metadata: Some(prost_types::Any {
                    type_url: EARTH_ENGINE_METADATA_TYPE_URLS[0].into(),
                    value: metadata.encode_to_vec(),
                }),
                done,
                result: None,
            })
        }
    }

    fn fake(ops: &[(&str, u64)], change: impl FnOnce(&mut Fake)) -> (Client, Arc<Seen>) {
        let mut fake = Fake::new(ops);
        change(&mut fake);
        let seen = fake.seen.clone();
        (Client::over_transport(Box::new(Arc::new(fake))), seen)
    }

    impl Transport for Arc<Fake> {
        fn get_operation(
            &self,
            request: GetOperationRequest,
            _: CallContext,
        ) -> BoxFuture<Result<Operation>> {
            let fake = self.clone();
            Box::pin(async move {
                let seen = &fake.seen;
                let number = seen.gets.fetch_add(1, Ordering::SeqCst) + 1;
                seen.request_times
                    .lock()
                    .expect("lock")
                    .push(Instant::now());
                let now_in_flight = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                seen.most_in_flight
                    .fetch_max(now_in_flight, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                seen.in_flight.fetch_sub(1, Ordering::SeqCst);
                if fake.fail_every > 0 && number.is_multiple_of(fake.fail_every) {
                    return Err(Error::new(Code::Unavailable, "flaky"));
                }
                fake.snapshot(&request.name)
            })
        }

        fn wait_operation(
            &self,
            request: WaitOperationRequest,
            _: CallContext,
        ) -> BoxFuture<Result<Operation>> {
            let fake = self.clone();
            Box::pin(async move {
                fake.seen.waits.fetch_add(1, Ordering::SeqCst);
                if !fake.serves_wait {
                    return Err(Error::new(Code::Unimplemented, "no wait here"));
                }
                let timeout = request
                    .timeout
                    .and_then(|t| Duration::try_from(t).ok())
                    .unwrap_or_default();
                let done_at = fake
                    .done_after
                    .get(&request.name)
                    .map(|after| fake.start + *after);
                let until = Instant::now() + timeout;
                tokio::time::sleep_until(done_at.map_or(until, |at| at.min(until))).await;
                fake.snapshot(&request.name)
            })
        }

        fn cancel_operation(
            &self,
            _: CancelOperationRequest,
            _: CallContext,
        ) -> BoxFuture<Result<()>> {
            self.seen.cancels.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(()) })
        }

        fn list_operations(
            &self,
            _: ListOperationsRequest,
            _: CallContext,
        ) -> BoxFuture<Result<ListOperationsResponse>> {
            Box::pin(async { Err(Error::new(Code::Unimplemented, "not in this fake")) })
        }

        fn delete_operation(
            &self,
            _: DeleteOperationRequest,
            _: CallContext,
        ) -> BoxFuture<Result<()>> {
            Box::pin(async { Err(Error::new(Code::Unimplemented, "not in this fake")) })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn until_done_waits_on_the_server_when_it_can() {
        let (client, seen) = fake(&[("op", 600)], |_| {});
        let started = Instant::now();
        let done = client.until_done("op").await.expect("done");
        assert!(done.done);
        assert_eq!(seen.gets.load(Ordering::SeqCst), 0, "no polling needed");
        assert!(
            seen.waits.load(Ordering::SeqCst) >= 10,
            "60 s server waits over 10 minutes"
        );
        assert!(started.elapsed() >= Duration::from_secs(600));
    }

    #[tokio::test(start_paused = true)]
    async fn until_done_polls_when_the_server_cannot_wait_and_rides_out_transient_errors() {
        let (client, seen) = fake(&[("op", 300)], |f| {
            f.serves_wait = false;
            f.fail_every = 3;
        });
        let done = client.until_done("op").await.expect("done");
        assert!(done.done);
        assert_eq!(
            seen.waits.load(Ordering::SeqCst),
            1,
            "asked once, then polled"
        );
        let gets = seen.gets.load(Ordering::SeqCst);
        assert!(gets >= 3, "polled {gets} times");
        // Backoff: far fewer polls than one a second.
        assert!(gets < 60, "polled {gets} times in 300 s");
    }

    #[tokio::test(start_paused = true)]
    async fn giving_up_can_cancel_the_operation() {
        let (client, seen) = fake(&[("op", 3600)], |_| {});
        let policy = PollingPolicy::new().with_time_limit(Duration::from_secs(120));
        let error = client
            .until_done("op")
            .with_polling(policy)
            .cancel_on_give_up(true)
            .await
            .expect_err("the limit comes first");
        assert_eq!(error.code(), Code::DeadlineExceeded);
        assert!(
            error.message().contains("RUNNING") && error.message().contains("cancel requested"),
            "{error}"
        );
        assert_eq!(seen.cancels.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn watch_reports_each_change_until_all_are_done() {
        let (client, _) = fake(&[("a", 10), ("b", 20), ("c", 40)], |_| {});
        let mut stream = client.watch(["a", "b", "c"]).stream();
        let mut changes: HashMap<String, Vec<State>> = HashMap::new();
        while let Some(change) = stream.next().await {
            let change = change.expect("no errors");
            let history = changes.entry(change.name().to_owned()).or_default();
            assert_eq!(
                change.previous,
                history.last().copied(),
                "previous is the last state seen"
            );
            history.push(change.state);
        }
        for name in ["a", "b", "c"] {
            let history = &changes[name];
            assert_eq!(
                history.first(),
                Some(&State::Running),
                "{name}: {history:?}"
            );
            assert_eq!(
                history.last(),
                Some(&State::Succeeded),
                "{name}: {history:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn watching_thousands_stays_within_the_rate_and_concurrency() {
        let names: Vec<String> = (0..2000).map(|i| format!("op{i}")).collect();
        let ops: Vec<(&str, u64)> = names.iter().map(|n| (n.as_str(), 120)).collect();
        let (client, seen) = fake(&ops, |_| {});
        let mut stream = client
            .watch(names.clone())
            .with_rate_limit(100.0)
            .with_max_in_flight(10)
            .stream();
        let mut succeeded = 0;
        while let Some(change) = stream.next().await {
            if change.expect("no errors").state == State::Succeeded {
                succeeded += 1;
            }
        }
        assert_eq!(succeeded, 2000);
        assert!(seen.most_in_flight.load(Ordering::SeqCst) <= 10);
        let mut times = seen.request_times.lock().expect("lock").clone();
        times.sort();
        // No one-second window holds more than the rate allows.
        let (mut busiest, mut first) = (0, 0);
        for (last, time) in times.iter().enumerate() {
            while *time - times[first] >= Duration::from_secs(1) {
                first += 1;
            }
            busiest = busiest.max(last - first + 1);
        }
        assert!(busiest <= 101, "{busiest} requests in one second");
        // Each operation was polled a handful of times, not once a second.
        assert!(times.len() < 2000 * 8, "{} requests", times.len());
    }

    #[tokio::test(start_paused = true)]
    async fn a_saturated_watch_keeps_its_rate_when_slots_fall_between_timer_ticks() {
        // 90 per second is a slot every 11.1 ms, between the timer's
        // millisecond ticks: every wake-up comes a little late.
        let names: Vec<String> = (0..3000).map(|i| format!("op{i}")).collect();
        let ops: Vec<(&str, u64)> = names.iter().map(|n| (n.as_str(), 100_000)).collect();
        let (client, seen) = fake(&ops, |_| {});
        let started = Instant::now();
        let mut stream = client
            .watch(names.clone())
            .with_polling(PollingPolicy::default().with_time_limit(Duration::from_secs(60)))
            .with_rate_limit(90.0)
            .stream();
        while stream.next().await.is_some() {}
        let times = seen.request_times.lock().expect("lock").clone();
        let in_the_minute = times
            .iter()
            .filter(|time| time.duration_since(started) < Duration::from_secs(60))
            .count();
        assert!(
            (5300..=5401).contains(&in_the_minute),
            "{in_the_minute} requests in 60 s at 90 per second"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_operation_is_an_error_and_the_rest_go_on() {
        let (client, _) = fake(&[("a", 5)], |_| {});
        let mut stream = client.watch(["a", "missing"]).stream();
        let (mut errors, mut done) = (0, 0);
        while let Some(change) = stream.next().await {
            match change {
                Ok(change) if change.state == State::Succeeded => done += 1,
                Ok(_) => {}
                Err(error) => {
                    assert_eq!(error.code(), Code::NotFound);
                    errors += 1;
                }
            }
        }
        assert_eq!((errors, done), (1, 1));
    }
}
