//! The command line, as clap parses it.

use std::time::{Duration, SystemTime};

use clap::{Args, Parser, Subcommand, ValueEnum};

use eeops::TaskFilter;
use eeops::duration::parse_duration;
use eeops::earthengine::State;

use super::since::{Since, parse_since};

/// Google long-running operations (Earth Engine tasks): list, inspect,
/// cancel, delete and wait on them over gRPC, or serve an emulator.
#[derive(Debug, Parser)]
#[command(name = "eeops", version, about, long_about = None, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,

    #[command(subcommand)]
    pub(crate) command: Command,
}

const EXIT_CODES: &str = "\
Exit codes:
  0  success (for wait: every operation succeeded)
  1  a call failed, or another runtime error
  2  usage error
  3  wait: at least one operation FAILED
  4  wait: at least one operation was CANCELLED and none failed
  5  wait: --timeout passed with operations still running
  6  not found
  130 interrupted by Ctrl-C (after saying what was done)";

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// Service URL: http://host:port (plaintext, emulators) or https://host (TLS).
    #[arg(long, global = true, env = "EEOPS_ENDPOINT", default_value = eeops::EARTH_ENGINE_ENDPOINT)]
    pub(crate) endpoint: String,

    /// Wire protocol [default: rest for Earth Engine's endpoints, whose task
    /// metadata is only documented by name; auto for any other].
    #[arg(long, global = true, value_enum)]
    pub(crate) transport: Option<TransportArg>,

    /// Earth Engine API version of the HTTP/JSON routes.
    #[arg(long, global = true, value_enum, default_value_t = ApiVersion::V1)]
    pub(crate) api_version: ApiVersion,

    /// Cloud project: bare task ids become projects/PROJECT/operations/ID.
    #[arg(long, global = true, env = "EEOPS_PROJECT")]
    pub(crate) project: Option<String>,

    /// Output format [default: table on a terminal, tsv otherwise].
    #[arg(long, global = true, value_enum)]
    pub(crate) format: Option<Format>,

    /// Time limit for each call, retries included (e.g. 30s, 2m).
    #[arg(long, global = true, value_parser = parse_duration, value_name = "DUR")]
    pub(crate) rpc_timeout: Option<Duration>,

    /// An OAuth access token to call with (first in the credential order).
    #[arg(
        long,
        global = true,
        env = "EEOPS_ACCESS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub(crate) access_token: Option<String>,

    /// Call without credentials.
    #[arg(long, global = true, conflicts_with = "access_token")]
    pub(crate) no_auth: bool,

    /// Allow credentials over plaintext http:// to hosts other than this
    /// machine (trusted networks only).
    #[arg(long, global = true)]
    pub(crate) allow_insecure_plaintext: bool,

    /// Connect through this HTTP proxy, http://[USER:PASSWORD@]HOST[:PORT],
    /// endpoints on this machine included (instead of HTTPS_PROXY,
    /// HTTP_PROXY, ALL_PROXY; NO_PROXY still applies).
    #[arg(long, global = true, value_name = "URL", conflicts_with = "no_proxy")]
    pub(crate) proxy: Option<String>,

    /// Connect directly, whatever HTTPS_PROXY, HTTP_PROXY and ALL_PROXY say.
    #[arg(long, global = true)]
    pub(crate) no_proxy: bool,

    /// An extra request header, NAME:VALUE (repeatable).
    #[arg(long = "header", global = true, value_name = "NAME:VALUE", value_parser = parse_header)]
    pub(crate) headers: Vec<(String, String)>,

    /// Print the HTTP request(s) the command would send over REST (method,
    /// URL, headers with credentials redacted, body) and send nothing.
    #[arg(long, global = true)]
    pub(crate) dry_run: bool,

    /// Run the command against an in-process emulator seeded with demo data
    /// (project "demo" unless --project is given).
    #[arg(long, global = true)]
    pub(crate) emulator: bool,

    /// More logging (-v info, -vv debug); RUST_LOG also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
}

/// The global options only a client uses: `serve` neither shows nor
/// accepts them.
const CLIENT_ONLY: [&str; 13] = [
    "endpoint",
    "transport",
    "api_version",
    "format",
    "rpc_timeout",
    "access_token",
    "no_auth",
    "allow_insecure_plaintext",
    "headers",
    "dry_run",
    "emulator",
    "proxy",
    "no_proxy",
];

/// The command line as parsed; `serve` hides the client-only options and
/// refuses them.
pub(crate) fn parse() -> Result<Cli, clap::Error> {
    let command = <Cli as clap::CommandFactory>::command();
    // Hidden copies in `serve` take the place of the global ones there
    // (clap does not propagate a global option a subcommand already has).
    let hidden: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|arg| CLIENT_ONLY.contains(&arg.get_id().as_str()))
        .map(|arg| arg.clone().global(false).hide(true))
        .collect();
    let mut command = command.mut_subcommand("serve", |serve| serve.args(hidden));
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    if let Some(serve) = matches.subcommand_matches("serve") {
        let given = CLIENT_ONLY.iter().find(|id| {
            [serve, &matches]
                .iter()
                .any(|m| m.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        });
        if let Some(id) = given {
            let flag = command
                .find_subcommand("serve")
                .and_then(|serve| serve.get_arguments().find(|a| a.get_id() == *id))
                .and_then(clap::Arg::get_long)
                .unwrap_or(id);
            return Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!("--{flag} is for the client commands; serve does not use it"),
            ));
        }
    }
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches)
}

fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not NAME:VALUE"))?;
    Ok((name.trim().to_owned(), value.trim().to_owned()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportArg {
    Grpc,
    Rest,
    Auto,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ApiVersion {
    V1,
    V1beta,
    V1alpha,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns for people (values whole when not on a terminal).
    Table,
    /// Proto3 JSON (an array for several operations).
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header line.
    Csv,
    /// One line per operation, tab-separated, no header.
    Tsv,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List operations, newest first.
    List(ListArgs),
    /// Counts by state and type, EECU-hours and median queue and run times.
    Summary(SummaryArgs),
    /// Show one operation.
    Get {
        /// A task id (with --project) or a full operation name.
        id_or_name: String,
    },
    /// Show everything about operations, readably.
    Info {
        /// Task ids (with --project) or full operation names.
        #[arg(required = true)]
        ids_or_names: Vec<String>,
    },
    /// Ask the server to cancel operations (asynchronous, best effort).
    #[command(
        override_usage = "eeops cancel [OPTIONS] <ID_OR_NAME>...\n       eeops cancel [OPTIONS] --all [--state S]... [--yes]"
    )]
    Cancel(CancelArgs),
    /// Forget operations' results (this does not cancel them).
    Delete {
        /// Task ids (with --project) or full operation names.
        #[arg(required = true)]
        ids_or_names: Vec<String>,
    },
    /// Wait until operations are done, showing progress.
    #[command(
        override_usage = "eeops wait [OPTIONS] <ID_OR_NAME>...\n       eeops wait [OPTIONS] --all"
    )]
    Wait(WaitArgs),
    /// Print each state change of operations until they are done.
    #[command(
        override_usage = "eeops watch [OPTIONS] <ID_OR_NAME>...\n       eeops watch [OPTIONS] --all [--state S]..."
    )]
    Watch(WatchArgs),
    /// Print a shell completion script (bash, zsh, fish, ...).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Serve the emulator (gRPC with reflection, and HTTP/JSON, on one port) until interrupted.
    Serve(ServeArgs),
    /// Run the main job end to end on an in-process emulator, narrated.
    Demo,
    /// Write one self-contained HTML page of the project's tasks over time:
    /// a timeline, EECU-hours, finishes per day, failures by message.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) filters: TaskFilterArgs,

    /// The file to write, or `-` for stdout [default: eeops-report-PROJECT-DATE.html].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) out: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// A filter passed to the server as given, in the server's own grammar
    /// (Earth Engine documents none; see the README for the emulator's), e.g.
    /// 'done=false'. --state, --type, --since and --description are checked
    /// here instead, so they work whatever the server.
    #[arg(long)]
    pub(crate) filter: Option<String>,

    /// Operations per request.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    pub(crate) page_size: Option<i32>,

    /// Stop after this many operations.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) limit: Option<u64>,

    /// The parent to list under [default: projects/PROJECT].
    #[arg(long)]
    pub(crate) parent: Option<String>,

    #[command(flatten)]
    pub(crate) filters: TaskFilterArgs,

    /// Add times, EECU-hours, and the result: the error of a failed task,
    /// else where it wrote to.
    #[arg(long)]
    pub(crate) long: bool,

    /// Sort by created, updated, state, type, eecu or description
    /// (~KEY for descending) [default: the server's order, newest first].
    #[arg(long, value_name = "KEY", value_parser = super::sort::parse_sort_by)]
    pub(crate) sort_by: Option<super::sort::SortBy>,

    /// Reverse the order.
    #[arg(long)]
    pub(crate) reverse: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SummaryArgs {
    /// Only tasks created since: a duration back from now (24h, 7d), a
    /// date (2026-12-01) or an RFC 3339 time.
    #[arg(long, value_parser = parse_since, value_name = "WHEN")]
    pub(crate) since: Option<Since>,

    /// The parent to sum up [default: projects/PROJECT].
    #[arg(long)]
    pub(crate) parent: Option<String>,
}

/// The conditions on tasks that `list` and `report` share, checked on the
/// client for every operation listed.
#[derive(Debug, Args)]
pub(crate) struct TaskFilterArgs {
    /// Only tasks in these states, in any case (repeatable or
    /// comma-separated: PENDING, RUNNING, CANCELLING, SUCCEEDED, CANCELLED,
    /// FAILED, or the older READY, COMPLETED, CANCEL_REQUESTED).
    #[arg(long, value_delimiter = ',', value_parser = parse_state)]
    pub(crate) state: Vec<State>,

    /// Only tasks of these types (repeatable or comma-separated): the
    /// API's names in any case (EXPORT_IMAGE, export_features, ...) or the
    /// earthengine tool's (Export.image, Export.table, Export.video,
    /// Export.map, Upload).
    #[arg(long = "type", value_delimiter = ',', value_name = "TYPE", value_parser = parse_task_type)]
    pub(crate) kinds: Vec<Vec<&'static str>>,

    /// Only tasks created since: a duration back from now (2h, 3d), a
    /// date (2026-12-01, midnight UTC) or an RFC 3339 time
    /// (2026-12-01T08:00:00Z).
    #[arg(long, value_parser = parse_since, value_name = "WHEN")]
    pub(crate) since: Option<Since>,

    /// Only tasks whose description matches this shell-style pattern,
    /// in any case (`*` any text, `?` one character, `[abc]` one of a set).
    #[arg(long, value_name = "PATTERN")]
    pub(crate) description: Option<String>,
}

impl TaskFilterArgs {
    /// The filter these flags ask for, `--since` counted back from `now`.
    pub(crate) fn task_filter(&self, now: SystemTime) -> TaskFilter {
        let mut filter = TaskFilter::new()
            .with_states(self.state.iter().copied())
            .with_types(self.kinds.iter().flatten().copied());
        if let Some(since) = self.since {
            filter = filter.with_created_since(since.cutoff(now));
        }
        if let Some(pattern) = &self.description {
            filter = filter.with_description(pattern);
        }
        filter
    }
}

#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    /// Task ids (with --project) or full operation names.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub(crate) ids_or_names: Vec<String>,

    /// Cancel every pending and running operation of the project (with the
    /// global --dry-run: only show which).
    #[arg(long)]
    pub(crate) all: bool,

    /// With --all: only operations in these states.
    #[arg(long, value_delimiter = ',', value_parser = parse_state, requires = "all")]
    pub(crate) state: Vec<State>,

    /// With --all: cancel without asking (needed when not on a terminal;
    /// -q also skips the question).
    #[arg(long, short = 'y', requires = "all")]
    pub(crate) yes: bool,
}

/// A count of at least one.
fn parse_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(count) if count >= 1 => Ok(count),
        _ => Err(format!("{text:?} is not a whole number of at least 1")),
    }
}

fn parse_fault(spec: &str) -> Result<eeops::emulator::Fault, String> {
    eeops::emulator::Fault::parse(spec)
}

/// A task state, by Earth Engine's name or its older one, in any case.
pub(crate) fn parse_state(text: &str) -> Result<State, String> {
    eeops::task_filter::parse_state(text).map_err(|error| error.message().to_owned())
}

/// The API's task types a task type name stands for.
fn parse_task_type(text: &str) -> Result<Vec<&'static str>, String> {
    eeops::task_filter::parse_task_type(text).map_err(|error| error.message().to_owned())
}

#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    /// Task ids (with --project) or full operation names.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub(crate) ids_or_names: Vec<String>,

    /// Wait for every pending and running operation of the project.
    #[arg(long)]
    pub(crate) all: bool,

    /// Give up after this long (exit code 5); waits forever without it.
    #[arg(long, value_parser = parse_duration, value_name = "DUR")]
    pub(crate) timeout: Option<Duration>,

    /// Run COMMAND (through the shell) for each operation that finishes,
    /// with EEOPS_ID, EEOPS_NAME, EEOPS_STATE, EEOPS_TYPE,
    /// EEOPS_DESCRIPTION and EEOPS_ERROR set.
    #[arg(long, value_name = "COMMAND")]
    pub(crate) on_done: Option<String>,

    /// Ring the terminal bell when all are done.
    #[arg(long)]
    pub(crate) bell: bool,
}

#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    /// Task ids (with --project) or full operation names.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub(crate) ids_or_names: Vec<String>,

    /// Follow every pending and running operation of the project, and
    /// those created while watching, until none is live.
    #[arg(long)]
    pub(crate) all: bool,

    /// With --all: only operations in these states.
    #[arg(long, value_delimiter = ',', value_parser = parse_state, requires = "all")]
    pub(crate) state: Vec<State>,

    /// Run COMMAND (through the shell) for each operation that finishes,
    /// with EEOPS_ID, EEOPS_NAME, EEOPS_STATE, EEOPS_TYPE,
    /// EEOPS_DESCRIPTION and EEOPS_ERROR set.
    #[arg(long, value_name = "COMMAND")]
    pub(crate) on_done: Option<String>,

    /// Ring the terminal bell when all are done.
    #[arg(long)]
    pub(crate) bell: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: String,

    /// Create this many demo operations in --project (default project "demo").
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: usize,

    /// How long operations stay PENDING by default.
    #[arg(long, value_parser = parse_duration, default_value = "500ms", value_name = "DUR")]
    pub(crate) queue_time: Duration,

    /// How long operations run by default.
    #[arg(long, value_parser = parse_duration, default_value = "5s", value_name = "DUR")]
    pub(crate) run_time: Duration,

    /// Inject a fault (repeatable), e.g. `method=GetOperation,every=3,code=UNAVAILABLE`,
    /// `method=*,fraction=0.1,code=RESOURCE_EXHAUSTED,retry_delay=500ms`,
    /// `method=ListOperations,every=7,http=429,retry_after=2`, `method=*,latency=300ms`,
    /// `method=GetOperation,every=5,drop`. More at run time: POST /_eeops/faults.
    #[arg(long = "fault", value_name = "SPEC", value_parser = parse_fault)]
    pub(crate) faults: Vec<eeops::emulator::Fault>,

    /// Refuse calls without `authorization: Bearer TOKEN` (UNAUTHENTICATED
    /// over gRPC, 401 over REST), and the fault endpoint /_eeops/faults too
    /// unless --admin-token is given.
    #[arg(long, value_name = "TOKEN")]
    pub(crate) require_token: Option<String>,

    /// Refuse requests to the fault endpoint /_eeops/faults without
    /// `authorization: Bearer TOKEN` (in place of --require-token's token).
    #[arg(long, value_name = "TOKEN")]
    pub(crate) admin_token: Option<String>,

    /// Append one JSON line per request received (transport, method, path,
    /// headers) to FILE, created owner-only, never through a symbolic link;
    /// values other than a few known-safe headers and query parameters are
    /// replaced by a fingerprint.
    #[arg(long, value_name = "FILE")]
    pub(crate) record: Option<std::path::PathBuf>,

    /// Time from a cancel request to CANCELLED.
    #[arg(long, value_parser = parse_duration, default_value = "500ms", value_name = "DUR")]
    pub(crate) cancel_latency: Duration,

    /// Time a client has to send a request's headers over HTTP/1.1 (also
    /// closes kept-alive HTTP/1.1 connections silent this long).
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DUR")]
    pub(crate) header_read_timeout: Duration,

    /// Time a client has to send a request's body after its headers; a
    /// body that trickles or stops fails the request then (and closes an
    /// HTTP/1.1 connection).
    #[arg(long, value_parser = parse_duration, default_value = "30s", value_name = "DUR")]
    pub(crate) body_read_timeout: Duration,

    /// Close a connection that has had no request in progress this long.
    #[arg(long, value_parser = parse_duration, default_value = "60s", value_name = "DUR")]
    pub(crate) idle_timeout: Duration,

    /// Connections served at once; more wait to be accepted.
    #[arg(long, default_value_t = eeops::emulator::DEFAULT_MAX_CONNECTIONS, value_parser = parse_count, value_name = "N")]
    pub(crate) max_connections: usize,

    /// gRPC calls (HTTP/2 streams) in progress at once per connection;
    /// clients queue the rest.
    #[arg(long, default_value_t = eeops::emulator::DEFAULT_MAX_CONCURRENT_STREAMS, value_parser = clap::value_parser!(u32).range(1..), value_name = "N")]
    pub(crate) max_streams: u32,

    /// On Ctrl-C or SIGTERM, time connections get to finish before they
    /// are closed (waits in progress are answered at once; a second Ctrl-C
    /// exits at once).
    #[arg(long, value_parser = parse_duration, default_value = "1s", value_name = "DUR")]
    pub(crate) shutdown_grace: Duration,
}
