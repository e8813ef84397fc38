//! The waiting loops against a fake transport on tokio's paused clock.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::time::Instant;

use super::*;
use crate::error::{Error, Result};
use crate::options::CallContext;
use crate::proto::EARTH_ENGINE_METADATA_TYPE_URLS;
use crate::proto::earthengine::OperationMetadata;
use crate::proto::earthengine::State;
use crate::proto::longrunning::Operation;
use crate::proto::longrunning::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
    WaitOperationRequest,
};
use crate::proto::rpc::Code;
use crate::transport::page::Page;
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
    fn rpc_system(&self) -> &'static str {
        crate::telemetry::GRPC
    }

    fn headers_added(&self, _: crate::routes::Rpc) -> usize {
        0
    }

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

    fn cancel_operation(&self, _: CancelOperationRequest, _: CallContext) -> BoxFuture<Result<()>> {
        self.seen.cancels.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }

    fn list_operations(&self, _: ListOperationsRequest, _: CallContext) -> BoxFuture<Result<Page>> {
        Box::pin(async { Err(Error::new(Code::Unimplemented, "not in this fake")) })
    }

    fn delete_operation(&self, _: DeleteOperationRequest, _: CallContext) -> BoxFuture<Result<()>> {
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
