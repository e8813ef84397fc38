//! `cargo bench --bench compare [-- --short]`: eeops against the cheapest
//! hand-written client for the same calls, both talking to the in-process
//! emulator on loopback.
//!
//! Each comparison measures its two sides in alternating rounds (eeops then
//! raw, raw then eeops, ...) so that drift on a shared machine hits both and
//! neither always runs second, after a warm-up of each, and ends with one
//! line per comparison:
//!
//! ```text
//! RATIO name=<name> ratio=<eeops cost / raw cost> budget=<budget>
//! ```
//!
//! with `OVER BUDGET` appended when the ratio is above its budget; budgets
//! are reported, never asserted. Absolute figures and resource use are
//! printed before them as `METRIC name=... value=... unit=...` lines.
//!
//! The baselines send the requests eeops sends, so that a ratio is the cost
//! of eeops' code and not of the bytes every client of these APIs sends:
//!
//! - gRPC Get: `tonic::client::Grpc` unary calls with `ProstCodec` on a
//!   `tonic::transport::Channel` of their own, carrying eeops' metadata
//!   (user agent, `x-goog-api-client`, `x-goog-request-params` never
//!   indexed, `grpc-timeout`, which tonic's channel enforces with a timer as
//!   eeops does);
//! - REST: hyper-util's legacy client over a plain `HttpConnector`
//!   (HTTP/1.1) sending the bytes eeops sends (method, URL and headers from
//!   `http_preview()`), replies read with `eeops::json::parse_operation`;
//! - gRPC List: the same tonic client asking for the same pages, without
//!   metadata (a few header bytes per page of a thousand operations).
//!
//! The gRPC Get comparisons also measure, in the same rounds, a bare tonic
//! call with no metadata at all (reported as METRIC lines only): eeops
//! against it tells the cost of those headers and the deadline on the wire.
//! Each third side is also reported against the comparison's other side
//! (`*_bare_tonic_vs_raw`, `*_raw_hyper_vs_gcl`).
//!
//! Memory and the watch scheduler are measured in child processes (this
//! executable run again with `--scenario ...`), so that one scenario's peak
//! resident set is not another's. Two more scenarios run one side alone,
//! for profilers: `--scenario spin <side> <seconds> [in-flight]` and
//! `--scenario list-once <side> <count>`.
//!
//! `--short` (or `EEOPS_BENCH_SHORT=1`) runs everything with small counts,
//! for CI. `--only grpc,list_100k_rest` runs only the comparisons and
//! metrics whose names start with one of the given prefixes (the others:
//! `cli`, `cli_get_json_vs_table`, `cli_list_memory`, `list_memory`,
//! `watch`, `many_waits`, `json_decode`).
//!
//! Three comparisons have a whole client as the other side, googleapis'
//! `google-cloud-longrunning` over REST, on an emulator of their own with
//! 10,000 operations named `operations/...` (the generic bindings it uses):
//! `rest_get_latency_vs_gcl`, `rest_throughput_64_vs_gcl` and
//! `rest_list_10k_vs_gcl` (page size 1,000), each with budget 0.80 (eeops'
//! time at most four fifths of its; see `gcl`). The two Get comparisons
//! run the raw HTTP/1.1 client in the same rounds as a third side: what a
//! client with no cost of its own would score against that peer.
//!
//! `json_decode_vs_serde` needs no server: eeops' proto3 JSON reader decodes
//! a page of 1,000 operations against `serde_json` into plain derived
//! structs of the same shape (see `json_decode`).
//!
//! The command-line tool is also compared with itself: `eeops get --format
//! json` against `--format table`, process start to exit, alternating
//! (`cli_get_json_vs_table_*`, budget 1.2); and the peak resident set of
//! `eeops list` of 100,000 operations in `json`, `jsonl` and `table`
//! (`cli_list_100k_*_rss_peak`, METRIC lines; each should stay under 50 MB).
//!
//! The code: `harness` measures (rounds, medians, the comparisons), `sides`
//! holds the two clients of each comparison, `scenarios` the command line's
//! start-up and the child-process runs, `json_decode` the reader comparison,
//! `cli_runs` the tool's own runs, `gcl` the comparisons with
//! `google-cloud-longrunning`.

mod cli_runs;
mod gcl;
mod harness;
mod json_decode;
mod many_waits;
mod memory;
mod scenarios;
mod server_thread;
mod sides;

use std::sync::Arc;
use std::time::{Duration, Instant};

use eeops::TransportKind;
use eeops::emulator::{Emulator, Handle, OperationSpec};
use tonic::client::Grpc;

use crate::harness::{Listing, compare_latency, compare_list, compare_throughput};
use crate::scenarios::{child_scenario, cli_startup, run_scenario};
use crate::sides::{
    EeopsGet, Getter, Lister, Prepared, RawGrpcGet, RawRestGet, Sides, eeops_client, get_previews,
    raw_channel, raw_hyper, raw_with_eeops_metadata,
};

/// The project of the operations the Get comparisons read.
const GET_PROJECT: &str = "bench-get";

/// The project listed by the list comparisons.
const LIST_PROJECT: &str = "bench-list";

/// A smaller project listed once per side as a warm-up.
const WARM_PROJECT: &str = "bench-warm";

/// Operations read by the Get comparisons (one per task in flight).
const GET_OPERATIONS: usize = 256;

/// Calls in flight in the throughput comparisons.
const IN_FLIGHT: usize = 256;

/// Page size of the listings.
const PAGE_SIZE: i32 = 1000;

/// The comparisons a full run reports, each as one RATIO line.
const REQUIRED_RATIOS: [&str; 12] = [
    "json_decode_vs_serde",
    "grpc_get_latency",
    "rest_get_latency",
    "grpc_throughput_256",
    "rest_throughput_256",
    "list_100k_grpc",
    "list_100k_rest",
    "cli_get_json_vs_table_grpc",
    "cli_get_json_vs_table_rest",
    "rest_get_latency_vs_gcl",
    "rest_throughput_64_vs_gcl",
    "rest_list_10k_vs_gcl",
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let short = args.iter().any(|arg| arg == "--short")
        || std::env::var("EEOPS_BENCH_SHORT").is_ok_and(|v| !v.is_empty() && v != "0");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime can be built");
    if let Some(at) = args.iter().position(|arg| arg == "--scenario") {
        let scenario = &args[at + 1..];
        runtime.block_on(run_scenario(scenario));
        return;
    }
    let mut config = if short {
        Config::short()
    } else {
        Config::full()
    };
    if let Some(at) = args.iter().position(|arg| arg == "--only") {
        let names = args
            .get(at + 1)
            .expect("--only takes a comma-separated list");
        config.only = Some(names.split(',').map(str::to_owned).collect());
    }
    let started = Instant::now();
    runtime.block_on(run_all(&config));
    eprintln!("# done in {:.1} s", started.elapsed().as_secs_f64());
}

/// How much of everything to do.
#[derive(Clone, Debug)]
struct Config {
    short: bool,
    latency_rounds: usize,
    latency_calls: usize,
    throughput_rounds: usize,
    throughput_calls: usize,
    list_rounds: usize,
    list_count: usize,
    warm_list_count: usize,
    memory_counts: (usize, usize),
    watch_count: usize,
    cli_runs: usize,
    /// With `--only a,b`: the comparisons and metrics to run, by name
    /// prefix (`grpc` runs every gRPC comparison); the rest are skipped.
    only: Option<Vec<String>>,
}

impl Config {
    /// Whether the comparison or metric `name` is to run.
    fn wants(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|prefix| name.starts_with(prefix.as_str())))
    }

    fn full() -> Self {
        Self {
            short: false,
            // Enough rounds that the median of a side moves by less than
            // a budget's margin on a machine whose single rounds stray by a
            // fifth.
            latency_rounds: 30,
            latency_calls: 400,
            throughput_rounds: 30,
            throughput_calls: 8_000,
            list_rounds: 15,
            list_count: 100_000,
            warm_list_count: 5_000,
            memory_counts: (10_000, 100_000),
            watch_count: 10_000,
            cli_runs: 10,
            only: None,
        }
    }

    fn short() -> Self {
        Self {
            short: true,
            latency_rounds: 5,
            latency_calls: 100,
            throughput_rounds: 3,
            throughput_calls: 512,
            list_rounds: 3,
            list_count: 2_000,
            warm_list_count: 1_000,
            memory_counts: (1_000, 5_000),
            watch_count: 180,
            cli_runs: 3,
            only: None,
        }
    }
}

/// One comparison's outcome.
struct Ratio {
    name: &'static str,
    ratio: f64,
    budget: f64,
}

fn metric(name: &str, value: f64, unit: &str) {
    println!("METRIC name={name} value={value:.2} unit={unit}");
}

async fn run_all(config: &Config) {
    eprintln!(
        "# eeops comparison benchmark, {} mode, {} cores, load average {}",
        if config.short { "short" } else { "full" },
        std::thread::available_parallelism().map_or(0, usize::from),
        std::fs::read_to_string("/proc/loadavg")
            .map(|text| text
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "))
            .unwrap_or_else(|_| "unknown".to_owned()),
    );
    let mut ratios = Vec::new();
    if config.wants("json_decode") {
        ratios.push(json_decode::compare_json_decode(config));
    }
    let emulator = Emulator::builder()
        .start("127.0.0.1:0")
        .await
        .expect("the emulator starts on loopback");
    let endpoint = emulator.endpoint();
    let handle = emulator.handle();
    let names = create_done_operations(&handle, OperationSpec::new(GET_PROJECT), GET_OPERATIONS);
    create_done_operations(&handle, OperationSpec::new(LIST_PROJECT), config.list_count);
    create_done_operations(
        &handle,
        OperationSpec::new(WARM_PROJECT),
        config.warm_list_count,
    );

    let grpc_client = eeops_client(&endpoint, TransportKind::Grpc);
    let rest_client = eeops_client(&endpoint, TransportKind::Rest);
    let channel = raw_channel(&endpoint).await;
    let hyper = raw_hyper();

    let names: Arc<[String]> = names.into();
    let previews = get_previews(&rest_client, &names);
    let prepared: Vec<Prepared> = previews.iter().map(Prepared::from_preview).collect();
    let mut grpc_sides = Sides {
        eeops: Getter::Eeops(EeopsGet {
            client: grpc_client.clone(),
            names: names.clone(),
        }),
        raw: Getter::RawGrpc(raw_with_eeops_metadata(&endpoint, names.clone(), &previews).await),
        diagnostic: Some((
            "bare_tonic",
            Getter::RawGrpc(RawGrpcGet::new(channel.clone(), names.clone())),
        )),
    };
    let mut rest_sides = Sides {
        eeops: Getter::Eeops(EeopsGet {
            client: rest_client.clone(),
            names: names.clone(),
        }),
        raw: Getter::RawRest(RawRestGet {
            client: hyper.clone(),
            prepared: prepared.into(),
        }),
        diagnostic: None,
    };

    if config.wants("grpc_get_latency") {
        ratios.push(compare_latency("grpc_get_latency", 1.05, &mut grpc_sides, config).await);
    }
    if config.wants("rest_get_latency") {
        ratios.push(compare_latency("rest_get_latency", 1.10, &mut rest_sides, config).await);
    }
    if config.wants("grpc_throughput_256") {
        let (ratio, raw_grpc_rate) = compare_throughput(
            "grpc_throughput_256",
            1.05,
            IN_FLIGHT,
            &mut grpc_sides,
            config,
        )
        .await;
        ratios.push(ratio);
        metric("emulator_grpc_calls_per_s", raw_grpc_rate, "calls/s");
    }
    if config.wants("rest_throughput_256") {
        let (ratio, raw_rest_rate) = compare_throughput(
            "rest_throughput_256",
            1.10,
            IN_FLIGHT,
            &mut rest_sides,
            config,
        )
        .await;
        ratios.push(ratio);
        metric("emulator_rest_calls_per_s", raw_rest_rate, "calls/s");
    }

    let listing = |project: &str, count: usize, rest: bool| {
        let parent = format!("projects/{project}");
        let first = rest.then(|| {
            Prepared::from_preview(
                &rest_client
                    .list(parent.clone())
                    .set_page_size(PAGE_SIZE)
                    .http_preview()
                    .expect("a List has a REST preview"),
            )
        });
        Listing {
            parent,
            count,
            first,
        }
    };
    let grpc_lister = Lister::Eeops(grpc_client.clone());
    let rest_lister = Lister::Eeops(rest_client.clone());
    let raw_grpc_lister = Lister::RawGrpc(Grpc::new(channel.clone()));
    if config.wants("list_100k_grpc") {
        ratios.push(
            compare_list(
                "list_100k_grpc",
                1.10,
                (&grpc_lister, &raw_grpc_lister),
                config,
                (
                    &listing(WARM_PROJECT, config.warm_list_count, false),
                    &listing(LIST_PROJECT, config.list_count, false),
                ),
            )
            .await,
        );
    }
    let raw_rest_lister = Lister::RawRest(hyper.clone());
    if config.wants("list_100k_rest") {
        ratios.push(
            compare_list(
                "list_100k_rest",
                1.10,
                (&rest_lister, &raw_rest_lister),
                config,
                (
                    &listing(WARM_PROJECT, config.warm_list_count, true),
                    &listing(LIST_PROJECT, config.list_count, true),
                ),
            )
            .await,
        );
    }
    if config.wants("cli") {
        cli_startup(&emulator, &names[0], config).await;
    }
    for (name, transport) in [
        ("cli_get_json_vs_table_grpc", "grpc"),
        ("cli_get_json_vs_table_rest", "rest"),
    ] {
        if config.wants(name) {
            ratios.extend(
                cli_runs::get_json_vs_table(name, &emulator, &names[0], transport, config).await,
            );
        }
    }
    drop((grpc_sides, rest_sides, grpc_client, rest_client));
    emulator
        .shutdown()
        .await
        .expect("the emulator shuts down cleanly");
    ratios.extend(gcl::compare_with_gcl(config).await);

    let (small, large) = config.memory_counts;
    for (count, transport, mode) in [
        (small, "grpc", "stream"),
        (large, "grpc", "stream"),
        (small, "rest", "stream"),
        (large, "rest", "stream"),
        (large, "grpc", "collect"),
    ] {
        if config.wants("list_memory") {
            child_scenario(&["list-memory", &count.to_string(), transport, mode]).await;
        }
    }
    if config.wants("cli_list_memory") {
        // A debug build prints slowly: the small count in short runs.
        let count = if config.short { small } else { large };
        child_scenario(&["cli-list-memory", &count.to_string()]).await;
    }
    if config.wants("watch") {
        child_scenario(&["watch", &config.watch_count.to_string()]).await;
    }
    if config.wants("many_waits") {
        // REST holds a connection per wait, and both ends share this
        // process's file descriptors: fewer waits.
        let (grpc, rest) = if config.short {
            (1_000, 500)
        } else {
            (10_000, 4_000)
        };
        for (transport, waits) in [("grpc", grpc), ("rest", rest)] {
            child_scenario(&["many-waits", &waits.to_string(), transport]).await;
        }
    }

    // Every comparison the issue of record asks for must have been made:
    // a run that silently lost one would read as a pass.
    let missing: Vec<&str> = REQUIRED_RATIOS
        .iter()
        .copied()
        .filter(|name| config.wants(name) && !ratios.iter().any(|ratio| ratio.name == *name))
        .collect();
    assert!(missing.is_empty(), "comparisons not made: {missing:?}");
    for Ratio {
        name,
        ratio,
        budget,
    } in ratios
    {
        // Judged as printed, so that a ratio shown equal to its budget is
        // never called over it.
        let shown = (ratio * 100.0).round() / 100.0;
        let over = if shown > budget { " OVER BUDGET" } else { "" };
        println!("RATIO name={name} ratio={ratio:.2} budget={budget:.2}{over}");
    }
}

/// Operations that finished an hour ago, so that every read returns the
/// same thing, named where `place` puts them (`OperationSpec::new(project)`
/// or `OperationSpec::unscoped()`); their names, in the order created.
fn create_done_operations(handle: &Handle, place: OperationSpec, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            handle
                .create(
                    place
                        .clone()
                        .with_id(format!("BENCH{i:019}"))
                        .with_type("EXPORT_IMAGE")
                        .with_description(format!("benchmark export {i}"))
                        .with_destination_uri(format!("gs://bench-bucket/export-{i}.tif"))
                        .created_ago(Duration::from_secs(3600)),
                )
                .expect("the emulator accepts a new operation")
        })
        .collect()
}
