//! `wait` and `watch`: following operations to their end, a result line per
//! operation, a closing line, `--on-done` commands and the bell.

use std::collections::HashSet;
use std::io::{IsTerminal as _, Write as _};

use eeops::Outcome;
use eeops::earthengine::State;
use eeops::longrunning::Operation;
use futures_util::FutureExt as _;

use super::args::{Format, WaitArgs, WatchArgs};
use super::commands::flush;
use super::exit;
use super::interrupt::Interrupt;
use super::listing::live_operations;
use super::output::{self, View};
use super::progress::{self, Discover, Display, Follow};
use super::task::Task;
use super::text::one_line;
use super::{CliError, Context};

/// The exit code an operation's end stands for.
fn code_for(operation: Option<&Operation>) -> u8 {
    match operation.map(Operation::outcome) {
        Some(Outcome::Succeeded(_)) => exit::SUCCESS,
        Some(Outcome::Failed(_)) => exit::OPERATION_FAILED,
        Some(Outcome::Cancelled(_)) => exit::OPERATION_CANCELLED,
        Some(Outcome::NotDone) | None => exit::WAIT_TIMEOUT,
    }
}

/// The names of live operations, for `--all`.
async fn live_names(ctx: &Context, states: &[State]) -> Result<Vec<String>, CliError> {
    Ok(live_operations(ctx, states)
        .await?
        .into_iter()
        .map(|op| op.name)
        .collect())
}

fn resolve_all(ctx: &Context, ids: &[String]) -> Result<Vec<String>, CliError> {
    ids.iter().map(|id| ctx.resolve(id)).collect()
}

pub(crate) async fn wait(ctx: &Context, args: WaitArgs) -> Result<u8, CliError> {
    let names = if args.all {
        live_names(ctx, &[]).await?
    } else {
        resolve_all(ctx, &args.ids_or_names)?
    };
    let interrupt = Interrupt::arm();
    let mut on_done = OnDone::new(args.on_done.clone());
    let outcome = progress::follow(
        Follow {
            client: &ctx.client,
            names,
            policy: progress::policy(args.timeout),
            display: Display::choose(ctx.quiet),
            discover: None,
            interrupt,
        },
        |change| {
            on_done.seen(&change.operation);
            None
        },
    )
    .await;
    on_done.finish(ctx).await;
    report_errors(&outcome);
    if !ctx.quiet {
        let finals: Vec<Operation> = outcome
            .latest
            .iter()
            .filter_map(|(_, op)| op.clone())
            .collect();
        if !finals.is_empty() {
            ctx.print(&output::render(ctx.format, View::List, ctx.screen, &finals));
        }
        flush();
        eprintln!("{}", outcome.final_line());
    }
    ring(args.bell);
    Ok(exit_code(&outcome))
}

pub(crate) async fn watch(ctx: &Context, args: WatchArgs) -> Result<u8, CliError> {
    let names = if args.all {
        live_names(ctx, &args.state).await?
    } else {
        resolve_all(ctx, &args.ids_or_names)?
    };
    let discover: Option<Discover> = args.all.then(|| {
        let states = args.state.clone();
        Box::new(move || {
            let states = states.clone();
            async move {
                match live_names(ctx, &states).await {
                    Ok(names) => Ok(names),
                    Err(CliError::Call(error)) => Err(error),
                    Err(CliError::Usage(message)) => Err(eeops::Error::new(
                        eeops::rpc::Code::InvalidArgument,
                        message,
                    )),
                }
            }
            .boxed()
        }) as Discover
    });
    // Live bars only when both streams are a terminal: the change lines
    // on stdout then scroll above them.
    let display = if !ctx.quiet && std::io::stdout().is_terminal() {
        Display::choose(false)
    } else {
        Display::Silent
    };
    let interrupt = Interrupt::arm();
    let mut on_done = OnDone::new(args.on_done.clone());
    let format = ctx.format;
    let screen = ctx.screen;
    let quiet = ctx.quiet;
    let outcome = progress::follow(
        Follow {
            client: &ctx.client,
            names,
            policy: progress::policy(None),
            display,
            discover,
            interrupt,
        },
        |change| {
            on_done.seen(&change.operation);
            // Only real changes: a new state, or the first sight of one.
            if quiet || change.previous == Some(change.state) {
                return None;
            }
            Some(change_line(format, screen, change))
        },
    )
    .await;
    on_done.finish(ctx).await;
    report_errors(&outcome);
    if !ctx.quiet {
        flush();
        eprintln!("{}", outcome.final_line());
    }
    ring(args.bell);
    Ok(exit_code(&outcome))
}

/// One state change as `watch` prints it.
fn change_line(format: Format, screen: super::screen::Screen, change: &eeops::Change) -> String {
    let op = &change.operation;
    let task = Task::new(op);
    let previous = change.previous.map(|state| state.as_str_name());
    let now = prost_types::Timestamp::from(std::time::SystemTime::now());
    match format {
        Format::Table => {
            let mut line = format!("{} {}", progress::clock(), task.id());
            let description = one_line(task.description());
            if !description.is_empty() {
                line.push_str(&format!(" {description}"));
            }
            line.push_str(": ");
            if let Some(previous) = previous {
                line.push_str(&format!("{previous} → "));
            }
            line.push_str(&screen.state(task.state(), &progress::describe(op)));
            line
        }
        Format::Tsv | Format::Csv => {
            let fields = [
                now.to_string(),
                task.id().to_owned(),
                previous.unwrap_or_default().to_owned(),
                task.state_name().to_owned(),
                task.progress(),
                one_line(task.description()),
                task.error().map(|e| one_line(&e)).unwrap_or_default(),
            ];
            if format == Format::Tsv {
                fields.join("\t")
            } else {
                fields
                    .iter()
                    .map(|f| {
                        if f.contains([',', '"']) {
                            format!("\"{}\"", f.replace('"', "\"\""))
                        } else {
                            f.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            }
        }
        Format::Json | Format::Jsonl => serde_json::json!({
            "time": now.to_string(),
            "name": change.name(),
            "previous": previous,
            "state": change.state.as_str_name(),
            "operation": eeops::json::operation_to_json(op),
        })
        .to_string(),
    }
}

fn report_errors(outcome: &progress::Outcome) {
    for error in outcome
        .errors
        .iter()
        .filter(|e| e.code() != eeops::rpc::Code::DeadlineExceeded)
    {
        super::report(error);
    }
}

fn exit_code(outcome: &progress::Outcome) -> u8 {
    if outcome.interrupted {
        return exit::INTERRUPTED;
    }
    let codes = outcome.latest.iter().map(|(_, op)| code_for(op.as_ref()));
    let errors = outcome
        .errors
        .iter()
        .filter(|e| e.code() != eeops::rpc::Code::DeadlineExceeded)
        .map(exit::for_error);
    exit::worst(codes.chain(errors))
}

/// The terminal bell, when asked for and stderr is a terminal.
fn ring(bell: bool) {
    if bell && std::io::stderr().is_terminal() {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(b"\x07");
        let _ = stderr.flush();
    }
}

/// `--on-done COMMAND`: run once for each operation seen done, through the
/// shell, with the operation in environment variables.
struct OnDone {
    command: Option<String>,
    seen: HashSet<String>,
    running: Vec<(
        String,
        tokio::task::JoinHandle<std::io::Result<std::process::ExitStatus>>,
    )>,
}

impl OnDone {
    fn new(command: Option<String>) -> Self {
        Self {
            command,
            seen: HashSet::new(),
            running: Vec::new(),
        }
    }

    fn seen(&mut self, op: &Operation) {
        let Some(command) = &self.command else { return };
        if !op.done || !self.seen.insert(op.name.clone()) {
            return;
        }
        let task = Task::new(op);
        let mut child = shell(command);
        child
            .env("EEOPS_ID", task.id())
            .env("EEOPS_NAME", &op.name)
            .env("EEOPS_STATE", task.state_name())
            .env("EEOPS_TYPE", task.kind())
            .env("EEOPS_DESCRIPTION", task.description())
            .env("EEOPS_ERROR", task.error().unwrap_or_default())
            .stdin(std::process::Stdio::null());
        let id = task.id().to_owned();
        self.running
            .push((id, tokio::spawn(async move { child.status().await })));
    }

    /// Waits for the commands started, saying which failed.
    async fn finish(&mut self, ctx: &Context) {
        for (id, handle) in self.running.drain(..) {
            match handle.await {
                Ok(Ok(status)) if status.success() => {}
                Ok(Ok(status)) => ctx.note(&format!("--on-done for {id}: {status}")),
                Ok(Err(error)) => ctx.note(&format!("--on-done for {id} did not start: {error}")),
                Err(error) => ctx.note(&format!("--on-done for {id}: {error}")),
            }
        }
    }
}

#[cfg(unix)]
fn shell(command: &str) -> tokio::process::Command {
    let mut child = tokio::process::Command::new("sh");
    child.arg("-c").arg(command);
    child
}

#[cfg(not(unix))]
fn shell(command: &str) -> tokio::process::Command {
    let mut child = tokio::process::Command::new("cmd");
    child.arg("/C").arg(command);
    child
}
