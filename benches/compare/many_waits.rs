//! The emulator under many concurrent waits: `--scenario many-waits N
//! grpc|rest` makes N WaitOperation calls at once through ten clients (over
//! gRPC, ten connections with more calls each than the server's stream
//! limit, so that clients queue), in rounds, and reports for each how many
//! were answered and how long that took, and the resident set before, at
//! its peak and after each round (once its clients are gone). The server
//! hands the memory it freed back to the system once it goes quiet, so the
//! resident set after each round should be near where it started; later
//! rounds ending higher than the first would show something held on to.

use std::future::IntoFuture as _;
use std::time::{Duration, Instant};

use eeops::emulator::{Emulator, OperationSpec, RunningEmulator};
use eeops::{Client, Credentials, TransportKind};

use crate::memory::{RssSampler, mib, proc_status_kib};
use crate::metric;

/// Connections the waits go through, one client each.
const CONNECTIONS: usize = 10;

/// Rounds of waits, one after the other.
const ROUNDS: usize = 3;

/// Runs the scenario with `count` waits over `transport`.
pub(crate) async fn run(count: usize, transport: TransportKind) {
    let emulator = Emulator::builder()
        .with_max_concurrent_streams(100)
        .start("127.0.0.1:0")
        .await
        .expect("the emulator starts");
    let start_kib = proc_status_kib("VmRSS");
    let start_files = open_files();
    let sampler = RssSampler::start();
    let side = match transport {
        TransportKind::Rest => "rest",
        _ => "grpc",
    };
    let label = format!("many_waits_{side}_{count}");
    let mut after_kib = Vec::new();
    for round in 1..=ROUNDS {
        let started = Instant::now();
        let answered = round_of_waits(&emulator, count, transport).await;
        let seconds = started.elapsed().as_secs_f64();
        // Dropped clients' connections close on their own, both ends in
        // this process (thousands of them over REST): wait for that, then
        // for the server's trim that follows the last one.
        let closing = Instant::now();
        while open_files() > start_files && closing.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        after_kib.push(proc_status_kib("VmRSS"));
        let open_files = open_files();
        metric(
            &format!("{label}_round{round}_open_files"),
            open_files as f64,
            "files",
        );
        metric(
            &format!("{label}_round{round}_answered"),
            answered as f64,
            "calls",
        );
        metric(&format!("{label}_round{round}_time"), seconds, "s");
    }
    let peak_kib = sampler.finish();
    metric(&format!("{label}_rss_start"), mib(start_kib), "MiB");
    metric(&format!("{label}_rss_peak"), mib(peak_kib), "MiB");
    for (round, kib) in after_kib.into_iter().enumerate() {
        metric(
            &format!("{label}_rss_after_round{}", round + 1),
            mib(kib),
            "MiB",
        );
    }
    emulator.shutdown().await.expect("the emulator stops");
}

/// `count` waits at once on new operations through [`CONNECTIONS`] new
/// clients; how many were answered with their operation done. The clients
/// are gone on return.
async fn round_of_waits(
    emulator: &RunningEmulator,
    count: usize,
    transport: TransportKind,
) -> usize {
    let names: Vec<String> = (0..20)
        .map(|_| {
            let spec = OperationSpec::new("waits")
                .with_queue_time(Duration::ZERO)
                .with_run_time(Duration::from_secs(2));
            emulator.create(spec).expect("an operation")
        })
        .collect();
    let clients: Vec<Client> = (0..CONNECTIONS)
        .map(|_| {
            Client::builder()
                .with_endpoint(emulator.endpoint())
                .with_transport(transport)
                .with_credentials(Credentials::anonymous())
                .build()
                .expect("a client")
        })
        .collect();
    let mut waits = tokio::task::JoinSet::new();
    for i in 0..count {
        let wait = clients[i % CONNECTIONS]
            .wait_once(names[i % names.len()].clone())
            .set_server_wait(Duration::from_secs(60));
        waits.spawn(wait.into_future());
    }
    let mut answered = 0;
    while let Some(joined) = waits.join_next().await {
        match joined {
            Ok(Ok(operation)) if operation.done => answered += 1,
            Ok(Ok(operation)) => eprintln!("# a wait ended early: {operation:?}"),
            Ok(Err(error)) => eprintln!("# a wait failed: {error}"),
            Err(error) => eprintln!("# a wait panicked: {error}"),
        }
    }
    answered
}

/// How many files this process has open (connections count twice: both
/// ends are here).
fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}
