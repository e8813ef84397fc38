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
//! `cli`, `list_memory`, `watch`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use eeops::emulator::{Emulator, Fault, OperationSpec, RunningEmulator};
use eeops::longrunning::Operation;
use eeops::longrunning::{GetOperationRequest, ListOperationsRequest, ListOperationsResponse};
use eeops::{Client, Credentials, Rpc, TransportKind};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tonic::client::Grpc;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic_prost::ProstCodec;

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
const REQUIRED_RATIOS: [&str; 6] = [
    "grpc_get_latency",
    "rest_get_latency",
    "grpc_throughput_256",
    "rest_throughput_256",
    "list_100k_grpc",
    "list_100k_rest",
];

const GET_PATH: &str = "/google.longrunning.Operations/GetOperation";
const LIST_PATH: &str = "/google.longrunning.Operations/ListOperations";

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
            latency_rounds: 15,
            latency_calls: 400,
            throughput_rounds: 15,
            throughput_calls: 8_000,
            list_rounds: 7,
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
    let emulator = Emulator::builder()
        .start("127.0.0.1:0")
        .await
        .expect("the emulator starts on loopback");
    let endpoint = emulator.endpoint();
    let names = create_done_operations(&emulator, GET_PROJECT, GET_OPERATIONS);
    create_done_operations(&emulator, LIST_PROJECT, config.list_count);
    create_done_operations(&emulator, WARM_PROJECT, config.warm_list_count);

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

    let mut ratios = Vec::new();
    if config.wants("grpc_get_latency") {
        ratios.push(compare_latency("grpc_get_latency", 1.05, &mut grpc_sides, config).await);
    }
    if config.wants("rest_get_latency") {
        ratios.push(compare_latency("rest_get_latency", 1.10, &mut rest_sides, config).await);
    }
    if config.wants("grpc_throughput_256") {
        let (ratio, raw_grpc_rate) =
            compare_throughput("grpc_throughput_256", 1.05, &mut grpc_sides, config).await;
        ratios.push(ratio);
        metric("emulator_grpc_calls_per_s", raw_grpc_rate, "calls/s");
    }
    if config.wants("rest_throughput_256") {
        let (ratio, raw_rest_rate) =
            compare_throughput("rest_throughput_256", 1.10, &mut rest_sides, config).await;
        ratios.push(ratio);
        metric("emulator_rest_calls_per_s", raw_rest_rate, "calls/s");
    }

    let list_preview = |project: &str| {
        Prepared::from_preview(
            &rest_client
                .list(format!("projects/{project}"))
                .set_page_size(PAGE_SIZE)
                .http_preview()
                .expect("a List has a REST preview"),
        )
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
                (None, None),
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
                    Some(list_preview(WARM_PROJECT)),
                    Some(list_preview(LIST_PROJECT)),
                ),
            )
            .await,
        );
    }
    if config.wants("cli") {
        cli_startup(&emulator, &names[0], config).await;
    }
    drop((grpc_sides, rest_sides, grpc_client, rest_client));
    emulator
        .shutdown()
        .await
        .expect("the emulator shuts down cleanly");

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
    if config.wants("watch") {
        child_scenario(&["watch", &config.watch_count.to_string()]).await;
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
/// same thing; their names, in the order created.
fn create_done_operations(emulator: &RunningEmulator, project: &str, count: usize) -> Vec<String> {
    let handle = emulator.handle();
    (0..count)
        .map(|i| {
            handle
                .create(
                    OperationSpec::new(project)
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

/// An eeops client as an application would build one for the emulator:
/// anonymous, default retry policy and timeout.
fn eeops_client(endpoint: &str, transport: TransportKind) -> Client {
    Client::builder()
        .with_endpoint(endpoint)
        .with_transport(transport)
        .with_credentials(Credentials::anonymous())
        .build()
        .expect("a client for the emulator builds")
}

async fn raw_channel(endpoint: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .expect("the emulator's URL is a valid endpoint")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("a raw channel connects to the emulator")
}

/// What eeops sends to get each of `names` (the raw sides send the same).
fn get_previews(client: &Client, names: &[String]) -> Vec<eeops::HttpPreview> {
    names
        .iter()
        .map(|name| {
            client
                .get(name)
                .http_preview()
                .expect("a Get has a REST preview")
        })
        .collect()
}

/// The gRPC baseline: a raw tonic call carrying the metadata eeops sends
/// with each name, encoded as eeops has it encoded.
async fn raw_with_eeops_metadata(
    endpoint: &str,
    names: Arc<[String]>,
    previews: &[eeops::HttpPreview],
) -> RawGrpcGet {
    let header = |preview: &eeops::HttpPreview, wanted: &str| {
        preview
            .headers
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, value)| value.clone())
    };
    let user_agent = header(&previews[0], "user-agent").expect("eeops sends a user-agent");
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .expect("the emulator's URL is a valid endpoint")
        .user_agent(user_agent)
        .expect("a valid user agent")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("a raw channel connects to the emulator");
    let metadata: Vec<tonic::metadata::MetadataMap> = previews
        .iter()
        .map(|preview| {
            let mut metadata = tonic::metadata::MetadataMap::new();
            for (name, value) in &preview.headers {
                // What only the REST transport sends.
                if matches!(name.as_str(), "accept" | "user-agent" | "x-server-timeout") {
                    continue;
                }
                let mut value: tonic::metadata::AsciiMetadataValue =
                    value.parse().expect("a valid metadata value");
                // eeops keeps the routing header, which differs from call to
                // call, out of HPACK's table.
                value.set_sensitive(name == "x-goog-request-params");
                metadata.append(
                    tonic::metadata::AsciiMetadataKey::from_bytes(name.as_bytes())
                        .expect("a valid metadata key"),
                    value,
                );
            }
            // What eeops sends for its default 60 s deadline: the whole
            // seconds left when the call starts. tonic's channel reads it and
            // arms a timer for the call, as eeops does.
            metadata.insert("grpc-timeout", "59S".parse().expect("a valid timeout"));
            metadata
        })
        .collect();
    RawGrpcGet {
        metadata: Some(metadata.into()),
        ..RawGrpcGet::new(channel, names)
    }
}

type RawHyper = HyperClient<HttpConnector, Full<Bytes>>;

fn raw_hyper() -> RawHyper {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector)
}

/// One request as eeops would send it, parsed once.
#[derive(Clone, Debug)]
struct Prepared {
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
}

impl Prepared {
    fn from_preview(preview: &eeops::HttpPreview) -> Self {
        let mut headers = http::HeaderMap::new();
        for (name, value) in &preview.headers {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("eeops sends valid names"),
                http::HeaderValue::from_str(value).expect("eeops sends valid values"),
            );
        }
        assert!(preview.body.is_none(), "Get and List have no body");
        Self {
            method: preview.method.parse().expect("eeops sends a valid method"),
            uri: preview.url.parse().expect("eeops sends a valid URL"),
            headers,
        }
    }

    fn request(&self, uri: http::Uri) -> http::Request<Full<Bytes>> {
        let mut request = http::Request::new(Full::new(Bytes::new()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Sends a prepared request and returns the whole body of a 200 reply.
async fn raw_exchange(client: &RawHyper, request: http::Request<Full<Bytes>>) -> Bytes {
    let response = client
        .request(request)
        .await
        .expect("the emulator answers the raw request");
    assert_eq!(response.status(), http::StatusCode::OK, "raw REST call");
    response
        .into_body()
        .collect()
        .await
        .expect("the raw reply's body arrives")
        .to_bytes()
}

/// One side of a Get comparison.
#[derive(Clone)]
enum Getter {
    Eeops(EeopsGet),
    RawGrpc(RawGrpcGet),
    RawRest(RawRestGet),
}

impl Getter {
    /// One GetOperation of operation number `index`.
    async fn get(&mut self, index: usize) {
        match self {
            Self::Eeops(side) => side.get(index).await,
            Self::RawGrpc(side) => side.get(index).await,
            Self::RawRest(side) => side.get(index).await,
        }
    }
}

#[derive(Clone)]
struct EeopsGet {
    client: Client,
    names: Arc<[String]>,
}

impl EeopsGet {
    async fn get(&mut self, index: usize) {
        let name = &self.names[index % self.names.len()];
        let operation = self
            .client
            .get(name)
            .await
            .expect("eeops gets the operation");
        std::hint::black_box(operation);
    }
}

#[derive(Clone)]
struct RawGrpcGet {
    grpc: Grpc<Channel>,
    names: Arc<[String]>,
    /// The metadata sent with each name, if any.
    metadata: Option<Arc<[tonic::metadata::MetadataMap]>>,
}

impl RawGrpcGet {
    fn new(channel: Channel, names: Arc<[String]>) -> Self {
        Self {
            grpc: Grpc::new(channel),
            names,
            metadata: None,
        }
    }

    async fn get(&mut self, index: usize) {
        let name = &self.names[index % self.names.len()];
        self.grpc.ready().await.expect("the raw channel is ready");
        let mut request = tonic::Request::new(GetOperationRequest { name: name.clone() });
        if let Some(metadata) = &self.metadata {
            *request.metadata_mut() = metadata[index % metadata.len()].clone();
        }
        let codec = ProstCodec::<GetOperationRequest, Operation>::default();
        let operation = self
            .grpc
            .unary(request, PathAndQuery::from_static(GET_PATH), codec)
            .await
            .expect("the raw gRPC Get succeeds")
            .into_inner();
        std::hint::black_box(operation);
    }
}

#[derive(Clone)]
struct RawRestGet {
    client: RawHyper,
    prepared: Arc<[Prepared]>,
}

impl RawRestGet {
    async fn get(&mut self, index: usize) {
        let prepared = &self.prepared[index % self.prepared.len()];
        let body = raw_exchange(&self.client, prepared.request(prepared.uri.clone())).await;
        let text = std::str::from_utf8(&body).expect("the reply is UTF-8");
        let operation = eeops::json::parse_operation(text).expect("the reply is an operation");
        std::hint::black_box(operation);
    }
}

/// The sides of one comparison: eeops, the raw baseline, and optionally a
/// diagnostic variant measured in the same rounds but not part of the ratio.
struct Sides {
    eeops: Getter,
    raw: Getter,
    diagnostic: Option<(&'static str, Getter)>,
}

impl Sides {
    fn all(&mut self) -> Vec<&mut Getter> {
        let mut all = vec![&mut self.eeops, &mut self.raw];
        if let Some((_, side)) = &mut self.diagnostic {
            all.push(side);
        }
        all
    }
}

/// The sides in the order they run in round `round`: as given in even
/// rounds, reversed in odd ones, so that no side always follows another
/// (whose connection, caches and allocator state it would inherit).
fn in_round_order<T>(round: usize, sides: impl Iterator<Item = T>) -> Vec<T> {
    let mut sides: Vec<T> = sides.collect();
    if round % 2 == 1 {
        sides.reverse();
    }
    sides
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return f64::NAN;
    }
    let rank = ((values.len() - 1) as f64 * p).round() as usize;
    values[rank]
}

/// How much the ratio moved from round to round: the lowest and highest
/// ratio of one round's eeops cost to the same round's raw cost.
fn round_spread(name: &str, eeops: &[f64], raw: &[f64]) {
    let mut ratios: Vec<f64> = eeops.iter().zip(raw).map(|(a, b)| a / b).collect();
    ratios.sort_by(f64::total_cmp);
    if let (Some(low), Some(high)) = (ratios.first(), ratios.last()) {
        metric(&format!("{name}_round_ratio_min"), *low, "ratio");
        metric(&format!("{name}_round_ratio_max"), *high, "ratio");
    }
}

/// Sequential calls, one at a time; per-call latencies in microseconds.
async fn sequential(side: &mut Getter, calls: usize, offset: usize, out: &mut Vec<f64>) {
    for i in 0..calls {
        let started = Instant::now();
        side.get(offset + i).await;
        out.push(started.elapsed().as_secs_f64() * 1e6);
    }
}

async fn compare_latency(
    name: &'static str,
    budget: f64,
    sides: &mut Sides,
    config: &Config,
) -> Ratio {
    eprintln!("# {name}: warming up");
    let warm = (config.latency_calls / 2).max(50);
    for side in sides.all() {
        sequential(side, warm, 0, &mut Vec::new()).await;
    }
    let mut samples = vec![Vec::new(); sides.all().len()];
    for round in 0..config.latency_rounds {
        let offset = round * config.latency_calls;
        for (side, out) in in_round_order(round, sides.all().into_iter().zip(&mut samples)) {
            sequential(side, config.latency_calls, offset, out).await;
        }
    }
    let per_round = |samples: &[f64]| -> Vec<f64> {
        samples
            .chunks(config.latency_calls)
            .map(|round| median(&mut round.to_vec()))
            .collect()
    };
    round_spread(name, &per_round(&samples[0]), &per_round(&samples[1]));
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    let mut labels = vec!["eeops", "raw"];
    labels.extend(sides.diagnostic.as_ref().map(|(label, _)| *label));
    for ((label, samples), median) in labels.iter().zip(&mut samples).zip(&medians) {
        metric(&format!("{name}_{label}_median"), *median, "us");
        metric(
            &format!("{name}_{label}_p99"),
            percentile(samples, 0.99),
            "us",
        );
    }
    if let Some(diagnostic) = medians.get(2) {
        metric(
            &format!("{name}_eeops_vs_{}", labels[2]),
            medians[0] / diagnostic,
            "ratio",
        );
    }
    Ratio {
        name,
        ratio: medians[0] / medians[1],
        budget,
    }
}

/// `total` Gets with `in_flight` tasks each calling in a loop; the time
/// taken.
async fn concurrent(side: &Getter, total: usize, in_flight: usize) -> Duration {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let (mut side, next) = (side.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= total {
                        break;
                    }
                    side.get(index).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("a throughput worker finishes");
    }
    started.elapsed()
}

/// The ratio, and the raw side's calls per second.
async fn compare_throughput(
    name: &'static str,
    budget: f64,
    sides: &mut Sides,
    config: &Config,
) -> (Ratio, f64) {
    eprintln!("# {name}: warming up");
    let warm = (config.throughput_calls / 4).max(IN_FLIGHT);
    for side in sides.all() {
        concurrent(side, warm, IN_FLIGHT).await;
    }
    let mut times = vec![Vec::new(); sides.all().len()];
    for round in 0..config.throughput_rounds {
        for (side, out) in in_round_order(round, sides.all().into_iter().zip(&mut times)) {
            let elapsed = concurrent(side, config.throughput_calls, IN_FLIGHT).await;
            out.push(elapsed.as_secs_f64());
        }
    }
    round_spread(name, &times[0], &times[1]);
    let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    let mut labels = vec!["eeops", "raw"];
    labels.extend(sides.diagnostic.as_ref().map(|(label, _)| *label));
    let calls = config.throughput_calls as f64;
    for (label, time) in labels.iter().zip(&medians) {
        metric(
            &format!("{name}_{label}_calls_per_s"),
            calls / time,
            "calls/s",
        );
    }
    if let Some(diagnostic) = medians.get(2) {
        metric(
            &format!("{name}_eeops_vs_{}", labels[2]),
            medians[0] / diagnostic,
            "ratio",
        );
    }
    // The emulator's own rate: what it serves to the quickest raw side.
    let fastest_raw = medians[1..].iter().copied().fold(f64::INFINITY, f64::min);
    (
        Ratio {
            name,
            ratio: medians[0] / medians[1],
            budget,
        },
        calls / fastest_raw,
    )
}

/// One side of a list comparison.
enum Lister {
    Eeops(Client),
    RawGrpc(Grpc<Channel>),
    RawRest(RawHyper),
}

impl Lister {
    /// Lists every operation of `project`, page by page, and returns how
    /// many there were. `first` is the REST request of the first page.
    async fn list(&self, project: &str, first: Option<&Prepared>) -> usize {
        let parent = format!("projects/{project}");
        match self {
            Self::Eeops(client) => {
                let mut operations = client.list(parent).set_page_size(PAGE_SIZE).operations();
                let mut count = 0;
                while let Some(operation) = operations.next().await {
                    std::hint::black_box(operation.expect("eeops lists the operations"));
                    count += 1;
                }
                count
            }
            Self::RawGrpc(grpc) => {
                let mut grpc = grpc.clone();
                let mut count = 0;
                let mut page_token = String::new();
                loop {
                    grpc.ready().await.expect("the raw channel is ready");
                    let request = tonic::Request::new(ListOperationsRequest {
                        name: parent.clone(),
                        page_size: PAGE_SIZE,
                        page_token,
                        ..Default::default()
                    });
                    let codec =
                        ProstCodec::<ListOperationsRequest, ListOperationsResponse>::default();
                    let page = grpc
                        .unary(request, PathAndQuery::from_static(LIST_PATH), codec)
                        .await
                        .expect("the raw gRPC List succeeds")
                        .into_inner();
                    for operation in page.operations {
                        std::hint::black_box(operation);
                        count += 1;
                    }
                    if page.next_page_token.is_empty() {
                        return count;
                    }
                    page_token = page.next_page_token;
                }
            }
            Self::RawRest(client) => {
                let first = first.expect("a raw REST listing starts from a prepared request");
                let mut count = 0;
                let mut uri = first.uri.clone();
                loop {
                    let body = raw_exchange(client, first.request(uri)).await;
                    let text = std::str::from_utf8(&body).expect("the reply is UTF-8");
                    let (operations, next_page_token) = split_page(text);
                    for operation in operations {
                        let operation = eeops::json::parse_operation(operation)
                            .expect("each listed operation parses");
                        std::hint::black_box(operation);
                        count += 1;
                    }
                    if next_page_token.is_empty() {
                        return count;
                    }
                    // The emulator's tokens are URL-safe base64: the form
                    // encoding writes them as eeops' query encoding does.
                    let token: String =
                        form_urlencoded::byte_serialize(next_page_token.as_bytes()).collect();
                    uri = format!("{}&pageToken={token}", first.uri)
                        .parse()
                        .expect("a page URL is valid");
                }
            }
        }
    }
}

async fn compare_list(
    name: &'static str,
    budget: f64,
    (eeops, raw): (&Lister, &Lister),
    config: &Config,
    (warm_first, first): (Option<Prepared>, Option<Prepared>),
) -> Ratio {
    eprintln!("# {name}: warming up");
    for side in [eeops, raw] {
        let listed = side.list(WARM_PROJECT, warm_first.as_ref()).await;
        assert_eq!(listed, config.warm_list_count, "warm-up listing");
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..config.list_rounds {
        eprintln!("# {name}: round {}/{}", round + 1, config.list_rounds);
        for (side, times) in in_round_order(round, [(eeops, &mut a), (raw, &mut b)].into_iter()) {
            let started = Instant::now();
            let listed = side.list(LIST_PROJECT, first.as_ref()).await;
            times.push(started.elapsed().as_secs_f64());
            assert_eq!(listed, config.list_count, "every operation is listed");
        }
    }
    round_spread(name, &a, &b);
    let (ta, tb) = (median(&mut a), median(&mut b));
    metric(&format!("{name}_eeops_ms"), ta * 1e3, "ms");
    metric(&format!("{name}_raw_ms"), tb * 1e3, "ms");
    metric(
        &format!("{name}_eeops_operations_per_s"),
        config.list_count as f64 / ta,
        "ops/s",
    );
    Ratio {
        name,
        ratio: ta / tb,
        budget,
    }
}

/// The operations (each as its own JSON text) and the next page token of a
/// ListOperationsResponse in JSON, found without building a JSON tree.
fn split_page(text: &str) -> (Vec<&str>, &str) {
    let mut scanner = Scanner { text, at: 0 };
    let mut operations = Vec::new();
    let mut token = "";
    scanner.expect(b'{');
    if scanner.peek() == b'}' {
        return (operations, token);
    }
    loop {
        let key = scanner.string();
        scanner.expect(b':');
        match key {
            "operations" => {
                scanner.expect(b'[');
                if scanner.peek() != b']' {
                    loop {
                        operations.push(scanner.value());
                        if scanner.peek() != b',' {
                            break;
                        }
                        scanner.at += 1;
                    }
                }
                scanner.expect(b']');
            }
            "nextPageToken" => token = scanner.string(),
            _ => {
                scanner.value();
            }
        }
        if scanner.peek() != b',' {
            break;
        }
        scanner.at += 1;
    }
    scanner.expect(b'}');
    (operations, token)
}

/// A cursor over JSON text that finds where values start and end.
struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte that is not white space (without taking it).
    fn peek(&mut self) -> u8 {
        while self.bytes()[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
        self.bytes()[self.at]
    }

    fn expect(&mut self, byte: u8) {
        assert_eq!(self.peek(), byte, "unexpected JSON at byte {}", self.at);
        self.at += 1;
    }

    /// A string's contents, escapes left as they are.
    fn string(&mut self) -> &'a str {
        self.expect(b'"');
        let start = self.at;
        while self.bytes()[self.at] != b'"' {
            self.at += if self.bytes()[self.at] == b'\\' { 2 } else { 1 };
        }
        self.at += 1;
        &self.text[start..self.at - 1]
    }

    /// The text of the next value, whatever it is.
    fn value(&mut self) -> &'a str {
        let start = match self.peek() {
            b'"' => {
                let start = self.at;
                self.string();
                start
            }
            b'{' | b'[' => {
                let start = self.at;
                let mut depth = 0usize;
                loop {
                    match self.bytes()[self.at] {
                        b'"' => {
                            self.string();
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => depth -= 1,
                        _ => {}
                    }
                    self.at += 1;
                    if depth == 0 {
                        break;
                    }
                }
                start
            }
            _ => {
                let start = self.at;
                while !matches!(self.bytes()[self.at], b',' | b'}' | b']')
                    && !self.bytes()[self.at].is_ascii_whitespace()
                {
                    self.at += 1;
                }
                start
            }
        };
        &self.text[start..self.at]
    }
}

/// The eeops executable next to this benchmark's: Cargo builds it for
/// benchmarks, in `target/<profile>/`, one level above `deps/`.
fn cli_binary() -> Option<PathBuf> {
    if let Some(path) = option_env!("CARGO_BIN_EXE_eeops").map(PathBuf::from)
        && path.exists()
    {
        return Some(path);
    }
    let exe = std::env::current_exe().ok()?;
    let path = exe
        .parent()?
        .parent()?
        .join(format!("eeops{}", std::env::consts::EXE_SUFFIX));
    path.exists().then_some(path)
}

fn cli_command(binary: &PathBuf, endpoint: &str, name: &str) -> tokio::process::Command {
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
async fn cli_startup(emulator: &RunningEmulator, name: &str, config: &Config) {
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
async fn child_scenario(args: &[&str]) {
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

/// `VmRSS` or `VmHWM` of this process, in KiB.
fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| {
            line.strip_prefix(field)?
                .strip_prefix(':')?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Samples the resident set every 2 ms on a thread of its own until
/// finished; the highest value seen.
struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl RssSampler {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut highest = 0;
            while !flag.load(Ordering::Relaxed) {
                highest = highest.max(proc_status_kib("VmRSS"));
                std::thread::sleep(Duration::from_millis(2));
            }
            highest.max(proc_status_kib("VmRSS"))
        });
        Self { stop, thread }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the sampler thread ends")
    }
}

fn count_label(count: usize) -> String {
    if count >= 1000 && count.is_multiple_of(1000) {
        format!("{}k", count / 1000)
    } else {
        count.to_string()
    }
}

async fn run_scenario(args: &[String]) {
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
async fn list_memory(count: usize, transport: TransportKind, label: &str, collect: bool) {
    let emulator = Emulator::builder()
        .start("127.0.0.1:0")
        .await
        .expect("the emulator starts on loopback");
    create_done_operations(&emulator, LIST_PROJECT, count);
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
    metric(&format!("{name}_rss_before"), mib(before), "MiB");
    metric(&format!("{name}_rss_peak"), mib(peak), "MiB");
    metric(
        &format!("{name}_rss_growth"),
        mib(peak.saturating_sub(before)),
        "MiB",
    );
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
async fn watch(count: usize) {
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
    metric(&format!("{name}_rss_before"), mib(before), "MiB");
    metric(&format!("{name}_rss_peak"), mib(peak), "MiB");
    metric(
        &format!("{name}_rss_growth"),
        mib(peak.saturating_sub(before)),
        "MiB",
    );
    drop(changes);
    drop(client);
    emulator.shutdown().await.expect("the emulator shuts down");
}

/// One side of the Get throughput comparison alone, for a while: a target
/// for profilers (`perf record -g -- <this executable> --scenario spin
/// grpc-eeops 10 [calls in flight, 256 unless given]`). Sides:
/// `grpc-eeops`, `grpc-raw`, `grpc-bare`, `rest-eeops`, `rest-raw`.
async fn spin(side: &str, seconds: f64, in_flight: usize) {
    let emulator = Emulator::builder()
        .start("127.0.0.1:0")
        .await
        .expect("the emulator starts on loopback");
    let endpoint = emulator.endpoint();
    let names: Arc<[String]> =
        create_done_operations(&emulator, GET_PROJECT, GET_OPERATIONS).into();
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
async fn list_once(side: &str, count: usize) {
    let emulator = Emulator::builder()
        .start("127.0.0.1:0")
        .await
        .expect("the emulator starts on loopback");
    let endpoint = emulator.endpoint();
    create_done_operations(&emulator, LIST_PROJECT, count);
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
    let listed = lister.list(LIST_PROJECT, Some(&first)).await;
    assert_eq!(listed, count, "every operation is listed");
    metric(
        &format!("list_once_{side}_ms"),
        started.elapsed().as_secs_f64() * 1e3,
        "ms",
    );
}
