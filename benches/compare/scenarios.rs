//! What runs apart from the comparisons: the command line's start-up, and
//! the scenarios this executable runs in a child process of its own
//! (`--scenario ...`), for memory and for profilers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eeops::emulator::{Emulator, Fault, OperationSpec, RunningEmulator};
use eeops::{Rpc, TransportKind};
use tonic::client::Grpc;

use crate::gcl;
use crate::harness::{cli_binary, concurrent, count_label, median};
use crate::memory::{RssSampler, mib, proc_status_kib, rss_metrics};
use crate::sides::{
    EeopsGet, GclGet, Getter, Lister, Prepared, RawGrpcGet, RawRestGet, eeops_client, get_previews,
    raw_channel, raw_hyper, raw_with_eeops_metadata,
};
use crate::{
    Config, GET_OPERATIONS, GET_PROJECT, IN_FLIGHT, LIST_PROJECT, PAGE_SIZE,
    create_done_operations, metric,
};

pub(crate) fn cli_command(binary: &PathBuf, endpoint: &str, name: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary);
    command
        .args([
            "--endpoint",
            endpoint,
            "--no-auth",
            "--format",
            "json",
            "get",
            name,
        ])
        .env_remove("EEOPS_ACCESS_TOKEN")
        .env_remove("EEOPS_ENDPOINT")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    command
}

/// Start-up of the command-line tool: from spawning `eeops get` to the
/// first bytes of its first request on a listener of ours; and a whole
/// `eeops get` against the emulator.
pub(crate) async fn cli_startup(emulator: &RunningEmulator, name: &str, config: &Config) {
    let Some(binary) = cli_binary() else {
        eprintln!("# cli start-up: no eeops executable next to the benchmark; skipped");
        return;
    };
    eprintln!("# cli start-up: {}", binary.display());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback listener");
    let silent = format!(
        "http://{}",
        listener.local_addr().expect("the listener's address")
    );
    let mut first_request = Vec::new();
    let mut whole_get = Vec::new();
    for run in 0..=config.cli_runs {
        let started = Instant::now();
        let mut child = cli_command(&binary, &silent, name)
            .spawn()
            .expect("eeops starts");
        let (stream, _) = tokio::time::timeout(Duration::from_secs(20), listener.accept())
            .await
            .expect("eeops connects within 20 s")
            .expect("the connection is accepted");
        let mut buffer = [0u8; 256];
        loop {
            stream.readable().await.expect("the connection is readable");
            match stream.try_read(&mut buffer) {
                Ok(0) => panic!("eeops closed the connection without sending anything"),
                Ok(_) => break,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(error) => panic!("reading eeops' first request: {error}"),
            }
        }
        let elapsed = started.elapsed();
        child.kill().await.expect("our eeops child can be stopped");
        drop(stream);

        let started = Instant::now();
        let status = cli_command(&binary, &emulator.endpoint(), name)
            .status()
            .await
            .expect("eeops runs");
        let whole = started.elapsed();
        assert!(status.success(), "eeops get against the emulator: {status}");
        // The first run of each warms the page cache.
        if run > 0 {
            first_request.push(elapsed.as_secs_f64() * 1e3);
            whole_get.push(whole.as_secs_f64() * 1e3);
        }
    }
    metric(
        "cli_start_to_first_request",
        median(&mut first_request),
        "ms",
    );
    metric("cli_get_total", median(&mut whole_get), "ms");
}

/// Runs this executable again with `--scenario ARGS` and passes its METRIC
/// lines on.
pub(crate) async fn child_scenario(args: &[&str]) {
    eprintln!("# scenario {}", args.join(" "));
    let exe = std::env::current_exe().expect("this executable's path");
    let output = tokio::process::Command::new(exe)
        .arg("--scenario")
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("the scenario runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in stdout.lines().filter(|line| line.starts_with("METRIC ")) {
        println!("{line}");
    }
    if !output.status.success() {
        eprintln!(
            "# scenario {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
}

pub(crate) async fn run_scenario(args: &[String]) {
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    match arg(0) {
        "list-memory" => {
            let count = arg(1).parse().expect("a count of operations");
            let transport = match arg(2) {
                "rest" => TransportKind::Rest,
                _ => TransportKind::Grpc,
            };
            list_memory(count, transport, arg(2), arg(3) == "collect").await;
        }
        "watch" => watch(arg(1).parse().expect("a count of operations")).await,
        "cli-list-memory" => {
            crate::cli_runs::list_memory(arg(1).parse().expect("a count of operations")).await;
        }
        "many-waits" => {
            let transport = match arg(2) {
                "rest" => TransportKind::Rest,
                _ => TransportKind::Grpc,
            };
            crate::many_waits::run(arg(1).parse().expect("a count of waits"), transport).await;
        }
        "list-once" => {
            list_once(arg(1), arg(2).parse().expect("a count of operations")).await;
        }
        "spin" => {
            let in_flight = args.get(3).map_or(IN_FLIGHT, |n| {
                n.parse().expect("a number of calls in flight")
            });
            spin(
                arg(1),
                arg(2).parse().expect("a number of seconds"),
                in_flight,
            )
            .await;
        }
        other => panic!("unknown scenario {other:?}"),
    }
}

/// Resident memory while listing `count` operations, streaming them one by
/// one (or collecting them all, for contrast).
pub(crate) async fn list_memory(
    count: usize,
    transport: TransportKind,
    label: &str,
    collect: bool,
) {
    let emulator = Emulator::builder()
        .start("127.0.0.1:0")
        .await
        .expect("the emulator starts on loopback");
    create_done_operations(&emulator.handle(), OperationSpec::new(LIST_PROJECT), count);
    let client = eeops_client(&emulator.endpoint(), transport);
    // One page first, so that connections, the descriptor pool and the
    // runtime's buffers exist before the baseline is taken.
    let first = client
        .list(format!("projects/{LIST_PROJECT}"))
        .set_page_size(PAGE_SIZE)
        .send()
        .await
        .expect("the first page");
    drop(first);
    let before = proc_status_kib("VmRSS");
    let sampler = RssSampler::start();
    let started = Instant::now();
    let listing = client
        .list(format!("projects/{LIST_PROJECT}"))
        .set_page_size(PAGE_SIZE)
        .operations();
    let listed = if collect {
        let all = listing.try_collect().await.expect("every operation");
        let listed = all.len();
        std::hint::black_box(&all);
        listed
    } else {
        let mut listing = listing;
        let mut listed = 0;
        while let Some(operation) = listing.next().await {
            std::hint::black_box(operation.expect("an operation"));
            listed += 1;
        }
        listed
    };
    let elapsed = started.elapsed();
    let peak = sampler.finish();
    assert_eq!(listed, count, "every operation is listed");
    let mode = if collect { "collect" } else { "stream" };
    let name = format!("list_{mode}_{}_{label}", count_label(count));
    rss_metrics(&name, before, peak);
    metric(
        &format!("{name}_vmhwm"),
        mib(proc_status_kib("VmHWM")),
        "MiB",
    );
    metric(&format!("{name}_seconds"), elapsed.as_secs_f64(), "s");
    drop(client);
    emulator.shutdown().await.expect("the emulator shuts down");
}

/// Waits on `count` operations at once with `client.watch(..).stream()` and
/// the default scheduler (20 in flight, 90 requests/s): the request rate
/// the emulator saw and the memory used.
pub(crate) async fn watch(count: usize) {
    let emulator = Emulator::builder()
        .start("127.0.0.1:0")
        .await
        .expect("the emulator starts on loopback");
    // A delay of nothing on every Get: the fault only counts the calls.
    let counter = emulator
        .faults()
        .add(Fault::on(Rpc::GetOperation).with_latency(Duration::ZERO));
    let handle = emulator.handle();
    let client = eeops_client(&emulator.endpoint(), TransportKind::Grpc);
    let names: Vec<String> = (0..count)
        .map(|i| {
            handle
                .create(
                    OperationSpec::new("bench-watch")
                        .with_id(format!("WATCH{i:019}"))
                        .with_queue_time(Duration::from_millis(100))
                        .with_run_time(Duration::from_millis(400)),
                )
                .expect("the emulator accepts a new operation")
        })
        .collect();
    // After the emulator has its operations: the growth is the watch's.
    let before = proc_status_kib("VmRSS");
    let sampler = RssSampler::start();
    let started = Instant::now();
    let mut changes = client.watch(names).stream();
    let (mut seen, mut failed, mut done) = (0usize, 0usize, 0usize);
    while let Some(change) = changes.next().await {
        match change {
            Ok(change) => {
                seen += 1;
                done += usize::from(change.operation.done);
            }
            Err(error) => {
                failed += 1;
                eprintln!("# watch error: {error}");
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let peak = sampler.finish();
    let requests = emulator.faults().injected(counter).unwrap_or(0);
    assert_eq!(done, count, "every watched operation finishes");
    let name = format!("watch_{}", count_label(count));
    metric(&format!("{name}_requests"), requests as f64, "requests");
    metric(
        &format!("{name}_requests_per_s"),
        requests as f64 / elapsed,
        "requests/s",
    );
    metric(&format!("{name}_seconds"), elapsed, "s");
    metric(&format!("{name}_changes"), seen as f64, "changes");
    metric(&format!("{name}_errors"), failed as f64, "errors");
    rss_metrics(&name, before, peak);
    drop(changes);
    drop(client);
    emulator.shutdown().await.expect("the emulator shuts down");
}

/// One side of the Get throughput comparison alone, for a while: a target
/// for profilers (`perf record -g -- <this executable> --scenario spin
/// grpc-eeops 10 [calls in flight, 256 unless given]`). Sides:
/// `grpc-eeops`, `grpc-raw`, `grpc-bare`, `rest-eeops`, `rest-raw`, and
/// the two sides of the comparison with google-cloud-longrunning,
/// `gcl-eeops` and `gcl-peer`.
pub(crate) async fn spin(side: &str, seconds: f64, in_flight: usize) {
    let emulator = Emulator::builder()
        .start("127.0.0.1:0")
        .await
        .expect("the emulator starts on loopback");
    let endpoint = emulator.endpoint();
    let names: Arc<[String]> = create_done_operations(
        &emulator.handle(),
        OperationSpec::new(GET_PROJECT),
        GET_OPERATIONS,
    )
    .into();
    let rest_client = eeops_client(&endpoint, TransportKind::Rest);
    let previews = get_previews(&rest_client, &names);
    let getter = match side {
        "grpc-eeops" => Getter::Eeops(EeopsGet {
            client: eeops_client(&endpoint, TransportKind::Grpc),
            names,
        }),
        "grpc-raw" => Getter::RawGrpc(raw_with_eeops_metadata(&endpoint, names, &previews).await),
        "grpc-bare" => Getter::RawGrpc(RawGrpcGet::new(raw_channel(&endpoint).await, names)),
        "rest-eeops" => Getter::Eeops(EeopsGet {
            client: rest_client,
            names,
        }),
        "rest-raw" => Getter::RawRest(RawRestGet {
            client: raw_hyper(),
            prepared: previews.iter().map(Prepared::from_preview).collect(),
        }),
        "gcl-eeops" | "gcl-peer" => {
            let names: Arc<[String]> = create_done_operations(
                &emulator.handle(),
                OperationSpec::unscoped(),
                GET_OPERATIONS,
            )
            .into();
            let (eeops, peer) = gcl::clients(&endpoint).await;
            if side == "gcl-eeops" {
                Getter::Eeops(EeopsGet {
                    client: eeops,
                    names,
                })
            } else {
                Getter::Gcl(GclGet {
                    client: peer,
                    names,
                })
            }
        }
        other => panic!("unknown side {other:?}"),
    };
    let started = Instant::now();
    let mut calls = 0usize;
    while started.elapsed().as_secs_f64() < seconds {
        concurrent(&getter, 5_000, in_flight).await;
        calls += 5_000;
    }
    metric(
        &format!("spin_{side}_calls_per_s"),
        calls as f64 / started.elapsed().as_secs_f64(),
        "calls/s",
    );
}

/// One side of a list comparison alone, once, for profilers. Sides:
/// `grpc-eeops`, `grpc-raw`, `rest-eeops`, `rest-raw`.
pub(crate) async fn list_once(side: &str, count: usize) {
    let emulator = Emulator::builder()
        .start("127.0.0.1:0")
        .await
        .expect("the emulator starts on loopback");
    let endpoint = emulator.endpoint();
    create_done_operations(&emulator.handle(), OperationSpec::new(LIST_PROJECT), count);
    let rest_client = eeops_client(&endpoint, TransportKind::Rest);
    let first = Prepared::from_preview(
        &rest_client
            .list(format!("projects/{LIST_PROJECT}"))
            .set_page_size(PAGE_SIZE)
            .http_preview()
            .expect("a List has a REST preview"),
    );
    let lister = match side {
        "grpc-eeops" => Lister::Eeops(eeops_client(&endpoint, TransportKind::Grpc)),
        "grpc-raw" => Lister::RawGrpc(Grpc::new(raw_channel(&endpoint).await)),
        "rest-eeops" => Lister::Eeops(rest_client),
        "rest-raw" => Lister::RawRest(raw_hyper()),
        other => panic!("unknown side {other:?}"),
    };
    let started = Instant::now();
    let listed = lister
        .list(&format!("projects/{LIST_PROJECT}"), Some(&first))
        .await;
    assert_eq!(listed, count, "every operation is listed");
    metric(
        &format!("list_once_{side}_ms"),
        started.elapsed().as_secs_f64() * 1e3,
        "ms",
    );
}
