//! The `eeops` command-line tool.

use std::error::Error as _;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use eeops::emulator::Emulator;
use eeops::{Client, CredentialSearch, Credentials, Detail, TransportKind};

/// `println!` that ignores a closed stdout (`eeops list | head`) instead
/// of panicking.
macro_rules! say {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod args;
mod cancel;
mod commands;
mod demo;
mod detail;
mod diagnose;
mod exit;
mod human;
mod interrupt;
mod list_printer;
mod listing;
mod output;
mod progress;
mod report;
mod screen;
mod serve;
mod since;
mod sort;
mod summary;
mod table;
mod task;
mod text;
mod waiting;

use args::{ApiVersion, Cli, Command, Format, GlobalArgs, TransportArg};

/// The project `--emulator` and `serve --seed` use when none is given.
const DEMO_PROJECT: &str = "demo";
/// How many operations `--emulator` seeds.
const EMULATOR_SEED: usize = 24;

/// What a command can fail with, beyond its exit code.
pub(crate) enum CliError {
    Usage(String),
    Call(eeops::Error),
}

impl From<eeops::Error> for CliError {
    fn from(error: eeops::Error) -> Self {
        Self::Call(error)
    }
}

/// Everything a command needs.
pub(crate) struct Context {
    pub(crate) client: Client,
    project: Option<String>,
    pub(crate) format: Format,
    /// The format asked for with --format, if any.
    pub(crate) explicit_format: Option<Format>,
    pub(crate) quiet: bool,
    /// Where results go (stdout).
    pub(crate) screen: screen::Screen,
}

/// What became of output written with [`Context::write`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    Yes,
    /// Stdout was closed (`eeops list | head`): no one is left to read.
    Closed,
    /// Writing failed otherwise (a full disk, say); said on stderr.
    Failed,
}

impl Written {
    /// The exit code to stop with, when nothing more can be written.
    pub(crate) fn stop(self) -> Option<u8> {
        match self {
            Self::Yes => None,
            Self::Closed => Some(exit::SUCCESS),
            Self::Failed => Some(exit::RPC_ERROR),
        }
    }
}

/// What to say when a command needs a project and has none.
const NO_PROJECT: &str = "no project: this command needs one (bare task ids and --all are \
    looked up in a project). Pass --project PROJECT, set EEOPS_PROJECT=PROJECT, or set \
    \"project\" in the Earth Engine credentials file (~/.config/earthengine/credentials)";

/// The `project` of the Earth Engine credentials file, read without
/// looking at any other credential.
fn earth_engine_file_project() -> Option<String> {
    let home = std::env::var_os("HOME")?;
    let path = std::path::Path::new(&home).join(".config/earthengine/credentials");
    if !path.exists() {
        return None;
    }
    let credentials = Credentials::from_earth_engine_file(path).ok()?;
    credentials.quota_project().map(str::to_owned)
}

/// Whether `command` works inside a project: bare ids are resolved in it,
/// and listing without --parent lists it.
fn needs_project(command: &Command) -> bool {
    let bare = |ids: &[String]| ids.iter().any(|id| !id.contains('/'));
    match command {
        Command::List(args) => args.parent.is_none(),
        Command::Summary(args) => args.parent.is_none(),
        Command::Report(_) => true,
        Command::Get { id_or_name } => bare(std::slice::from_ref(id_or_name)),
        Command::Info { ids_or_names } | Command::Delete { ids_or_names } => bare(ids_or_names),
        Command::Cancel(args) => args.all || bare(&args.ids_or_names),
        Command::Wait(args) => args.all || bare(&args.ids_or_names),
        Command::Watch(args) => args.all || bare(&args.ids_or_names),
        Command::Serve(_) | Command::Demo | Command::Completions { .. } => false,
    }
}

impl Context {
    pub(crate) fn project(&self) -> Result<&str, CliError> {
        self.project
            .as_deref()
            .ok_or_else(|| CliError::Usage(NO_PROJECT.into()))
    }

    /// The full name for a task id or name, by the library's rule
    /// ([`Client::full_name`]): a bare id in the project, a full name as
    /// given.
    pub(crate) fn resolve(&self, id_or_name: &str) -> Result<String, CliError> {
        self.client.full_name(id_or_name).map_err(|error| {
            if self.project.is_none() && !id_or_name.trim().is_empty() {
                CliError::Usage(NO_PROJECT.into())
            } else {
                CliError::Usage(error.message().to_owned())
            }
        })
    }

    /// Writes a result to stdout.
    pub(crate) fn print(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
    }

    /// Writes `text` as it is to stdout and flushes it, so that what is
    /// written is seen before the command goes on.
    pub(crate) fn write(&self, text: &str) -> Written {
        if text.is_empty() {
            return Written::Yes;
        }
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => Written::Yes,
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Written::Closed,
            Err(error) => {
                eprintln!("error: cannot write the output: {error}");
                Written::Failed
            }
        }
    }

    /// Writes a remark for people to stderr, unless `-q`.
    pub(crate) fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }
}

/// Prints an error, its details and its chain of causes to stderr, each
/// wrapped at word boundaries on a terminal.
pub(crate) fn report(error: &eeops::Error) {
    let mut lines: Vec<(&str, String)> = vec![("error: ", error.to_string())];
    for detail in error.details() {
        match detail {
            Detail::ErrorInfo(info) => {
                lines.push(("  reason: ", format!("{} ({})", info.reason, info.domain)));
            }
            Detail::BadRequest(bad) => {
                for violation in &bad.field_violations {
                    lines.push((
                        "  field ",
                        format!("{}: {}", violation.field, violation.description),
                    ));
                }
            }
            Detail::RetryInfo(info) => {
                if let Some(delay) = info.retry_delay {
                    lines.push(("  retry after: ", delay.to_string()));
                }
            }
            Detail::ResourceInfo(info) => lines.push(("  resource: ", info.resource_name.clone())),
            Detail::Help(help) => {
                for link in &help.links {
                    lines.push(("  see: ", format!("{} {}", link.url, link.description)));
                }
            }
            Detail::LocalizedMessage(message) => lines.push(("  ", message.message.clone())),
            Detail::Other(any) => lines.push(("  detail: ", any.type_url.clone())),
            _ => {}
        }
    }
    let mut cause = error.source();
    while let Some(inner) = cause {
        lines.push(("  caused by: ", inner.to_string()));
        cause = inner.source();
    }
    let screen = screen::Screen::stderr();
    let text: String = lines
        .iter()
        .map(|(mark, text)| screen.indented(mark, text))
        .collect();
    eprint!("{text}");
}

fn init_logging(global: &GlobalArgs) {
    // gcp_auth warns of every failed token request it retries; the error
    // the call ends with says what went wrong, once, so its warnings show
    // only with -vv.
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn,gcp_auth=error",
        (false, 1) => "info,gcp_auth=error",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// Runs the tool and returns its exit code.
pub fn main() -> ExitCode {
    let cli = match args::parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return exit::code(if error.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            });
        }
    };
    init_logging(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return exit::code(exit::RPC_ERROR);
        }
    };
    let endpoint = (!cli.global.emulator).then(|| cli.global.endpoint.clone());
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(CliError::Usage(message)) => {
            eprint!("{}", screen::Screen::stderr().indented("error: ", &message));
            exit::USAGE
        }
        Err(CliError::Call(error)) => {
            report(&error);
            if let Some(hint) = endpoint.and_then(|endpoint| diagnose::hint(&endpoint, &error)) {
                eprint!("{}", screen::Screen::stderr().indented("hint: ", &hint));
            }
            exit::for_error(&error)
        }
    };
    commands::flush();
    exit::code(code)
}

async fn run(cli: Cli) -> Result<u8, CliError> {
    let Cli { global, command } = cli;
    match command {
        Command::Serve(args) => return serve::run(&global, args).await,
        Command::Demo => return demo::run(&global).await,
        Command::Completions { shell } => {
            // Generated into memory: the generator panics on a closed pipe.
            let mut script = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "eeops",
                &mut script,
            );
            let _ = std::io::stdout().lock().write_all(&script);
            return Ok(exit::SUCCESS);
        }
        _ => {}
    }
    let mut project = global.project.clone().or_else(earth_engine_file_project);
    if !global.emulator {
        diagnose::check_endpoint(&global.endpoint)?;
        // Before any credential lookup or call: a command that needs a
        // project and has none is a mistake to say at once.
        if project.is_none() && needs_project(&command) {
            return Err(CliError::Usage(NO_PROJECT.into()));
        }
    }
    let mut endpoint = global.endpoint.clone();
    let emulator = if global.emulator {
        let project = project
            .get_or_insert_with(|| DEMO_PROJECT.to_owned())
            .clone();
        let emulator = Emulator::builder()
            .with_seed(project, EMULATOR_SEED)
            .start("127.0.0.1:0")
            .await?;
        endpoint = emulator.endpoint();
        Some(emulator)
    } else {
        None
    };
    let client = build_client(&global, &endpoint)?;
    // Found now so that --dry-run shows them and the Earth Engine credentials
    // file's project can be the default one; a failed search is reported by
    // the first call instead.
    let found = client.credentials().await.ok();
    if project.is_none() {
        project = found.and_then(|credentials| credentials.quota_project().map(str::to_owned));
    }
    let ctx = Context {
        client: match &project {
            Some(project) => client.in_project(project),
            None => client,
        },
        project,
        format: output_format(&global),
        explicit_format: global.format,
        quiet: global.quiet,
        screen: screen::Screen::stdout(),
    };
    if global.dry_run {
        let result = commands::dry_run(&ctx, command).await;
        if let Some(emulator) = emulator {
            emulator.shutdown().await?;
        }
        return result;
    }
    let result = match command {
        Command::List(args) => commands::list(&ctx, args).await,
        Command::Summary(args) => commands::summary(&ctx, args).await,
        Command::Get { id_or_name } => commands::get(&ctx, &id_or_name).await,
        Command::Info { ids_or_names } => commands::info(&ctx, &ids_or_names).await,
        Command::Cancel(args) => cancel::cancel(&ctx, args).await,
        Command::Delete { ids_or_names } => commands::delete(&ctx, &ids_or_names).await,
        Command::Wait(args) => waiting::wait(&ctx, args).await,
        Command::Watch(args) => waiting::watch(&ctx, args).await,
        Command::Report(args) => report::run(&ctx, args).await,
        Command::Serve(_) | Command::Demo | Command::Completions { .. } => Ok(exit::SUCCESS),
    };
    if let Some(emulator) = emulator {
        emulator.shutdown().await?;
    }
    result
}

pub(crate) fn output_format(global: &GlobalArgs) -> Format {
    global.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Tsv
    })
}

pub(crate) fn build_client(global: &GlobalArgs, endpoint: &str) -> Result<Client, CliError> {
    let transport = match global.transport {
        Some(TransportArg::Grpc) => TransportKind::Grpc,
        Some(TransportArg::Rest) => TransportKind::Rest,
        Some(TransportArg::Auto) => TransportKind::Auto,
        None if eeops::is_earth_engine_endpoint(endpoint) => TransportKind::Rest,
        None => TransportKind::Auto,
    };
    let api_version = match global.api_version {
        ApiVersion::V1 => eeops::ApiVersion::V1,
        ApiVersion::V1beta => eeops::ApiVersion::V1beta,
        ApiVersion::V1alpha => eeops::ApiVersion::V1alpha,
    };
    tracing::info!(?transport, ?api_version, endpoint, "client");
    let mut builder = Client::builder()
        .with_endpoint(endpoint)
        .with_transport(transport)
        .with_api_version(api_version);
    if let Some(timeout) = global.rpc_timeout {
        builder = builder.with_timeout(timeout);
    }
    for (name, value) in &global.headers {
        builder = builder.with_header(name, value);
    }
    if global.no_auth {
        builder = builder.with_credentials(Credentials::anonymous());
    } else {
        builder = builder.with_credential_search(
            CredentialSearch::from_env().with_access_token(global.access_token.clone()),
        );
    }
    if let Some(project) = &global.project {
        builder = builder.with_quota_project(project);
    }
    if global.no_proxy {
        builder = builder.without_proxy();
    } else if let Some(proxy) = &global.proxy {
        builder = builder.with_proxy(proxy);
    }
    Ok(builder
        .with_insecure_plaintext_credentials(global.allow_insecure_plaintext)
        .build()?)
}
