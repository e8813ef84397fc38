//! The command-line tool as people run it, one process per command:
//! `get --format json` against `get --format table` (alternating, in the
//! same run), and the peak resident set of `list` in each streaming format.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use eeops::emulator::{Emulator, OperationSpec, RunningEmulator};

use crate::harness::{cli_binary, count_label, in_round_order, median, round_spread};
use crate::memory::{mib, status_field_kib};
use crate::{Config, LIST_PROJECT, Ratio, create_done_operations, metric};

/// `eeops --endpoint E --no-auth [--transport T] ARGS`, its output thrown
/// away.
fn eeops(binary: &Path, endpoint: &str, transport: &str, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(binary);
    command
        .args([
            "--endpoint",
            endpoint,
            "--no-auth",
            "--transport",
            transport,
        ])
        .args(args)
        .env_remove("EEOPS_ACCESS_TOKEN")
        .env_remove("EEOPS_ENDPOINT")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Runs `command` to its end; how long that took.
fn timed(mut command: std::process::Command) -> Duration {
    let started = Instant::now();
    let status = command.status().expect("eeops runs");
    let elapsed = started.elapsed();
    assert!(status.success(), "eeops failed: {status}");
    elapsed
}

/// `eeops get --format json NAME` against `eeops get --format table NAME`,
/// process start to exit, over `transport`: the ratio of their medians.
pub(crate) async fn get_json_vs_table(
    name: &'static str,
    emulator: &RunningEmulator,
    operation: &str,
    transport: &str,
    config: &Config,
) -> Option<Ratio> {
    let Some(binary) = cli_binary() else {
        eprintln!("# {name}: no eeops executable next to the benchmark; skipped");
        return None;
    };
    let endpoint = emulator.endpoint();
    let run = move |format: &'static str| {
        eeops(
            &binary,
            &endpoint,
            transport,
            &["--format", format, "get", operation],
        )
    };
    eprintln!("# {name}: {} runs of each", config.cli_runs * 4);
    let (mut json, mut table) = (Vec::new(), Vec::new());
    // The first of each warms the page cache and the emulator.
    for round in 0..=config.cli_runs * 4 {
        for (format, times) in in_round_order(
            round,
            [("json", &mut json), ("table", &mut table)].into_iter(),
        ) {
            let command = run(format);
            let elapsed = tokio::task::spawn_blocking(move || timed(command))
                .await
                .expect("the timing thread ends");
            if round > 0 {
                times.push(elapsed.as_secs_f64() * 1e3);
            }
        }
    }
    round_spread(name, &json, &table);
    let (json, table) = (median(&mut json), median(&mut table));
    metric(&format!("{name}_json_ms"), json, "ms");
    metric(&format!("{name}_table_ms"), table, "ms");
    Some(Ratio {
        name,
        ratio: json / table,
        budget: 1.2,
    })
}

/// `--scenario cli-list-memory COUNT`: the peak resident set of `eeops list`
/// of `COUNT` operations over REST in `json`, `jsonl` and `table` (piped),
/// from an emulator in this process.
pub(crate) async fn list_memory(count: usize) {
    let Some(binary) = cli_binary() else {
        eprintln!("# cli list memory: no eeops executable next to the benchmark; skipped");
        return;
    };
    let emulator = Emulator::builder()
        .start("127.0.0.1:0")
        .await
        .expect("the emulator starts on loopback");
    create_done_operations(&emulator.handle(), OperationSpec::new(LIST_PROJECT), count);
    let endpoint = emulator.endpoint();
    for format in ["json", "jsonl", "table"] {
        let mut command = eeops(
            &binary,
            &endpoint,
            "rest",
            &["--project", LIST_PROJECT, "--format", format, "list"],
        );
        let (peak_kib, elapsed) =
            tokio::task::spawn_blocking(move || peak_resident_set(&mut command))
                .await
                .expect("the measuring thread ends");
        let name = format!("cli_list_{}_{format}", count_label(count));
        metric(&format!("{name}_rss_peak"), mib(peak_kib), "MiB");
        metric(&format!("{name}_seconds"), elapsed.as_secs_f64(), "s");
    }
    emulator.shutdown().await.expect("the emulator shuts down");
}

/// Runs `command` and reads its high-water resident set (`VmHWM`) every
/// millisecond until it ends; the last value read, in KiB, and the time
/// taken. `VmHWM` only grows, so only growth in the last millisecond of
/// the run could be missed.
fn peak_resident_set(command: &mut std::process::Command) -> (u64, Duration) {
    let started = Instant::now();
    let mut child = command.spawn().expect("eeops starts");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Some(kib) = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|status| status_field_kib(&status, "VmHWM"))
        {
            peak = peak.max(kib);
        }
        match child.try_wait().expect("eeops can be waited for") {
            Some(status) => {
                assert!(status.success(), "eeops list failed: {status}");
                return (peak, started.elapsed());
            }
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}
