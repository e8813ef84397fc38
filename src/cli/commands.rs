//! One function per command.

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use eeops::earthengine::State;
use eeops::longrunning::Operation;
use eeops::{Client, Outcome, TaskFilter};
use futures_util::stream::{self, StreamExt};

use super::args::{CancelArgs, Command, Format, ListArgs, WaitArgs};
use super::exit;
use super::output;
use super::progress::{self, Display};
use super::{CliError, Context};

/// The server-side wait a `--dry-run` of `wait` shows.
const WAIT_STEP: Duration = Duration::from_secs(5);
/// How many cancels `cancel --all` sends at once.
const CANCEL_CONCURRENCY: usize = 8;

/// The parent `list` and `--all` work on.
fn parent(ctx: &Context, explicit: Option<&String>) -> Result<String, CliError> {
    match explicit {
        Some(parent) => Ok(parent.clone()),
        None => Ok(format!("projects/{}", ctx.project()?)),
    }
}

/// The first page's request of a `list`: `--filter` goes to the server as
/// given, the other conditions are checked here.
fn list_request(ctx: &Context, args: &ListArgs) -> Result<eeops::ListOperations, CliError> {
    let mut request = ctx
        .client
        .list(parent(ctx, args.parent.as_ref())?)
        .with_task_filter(args.filters.task_filter(SystemTime::now()));
    if let Some(filter) = args.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        request = request.set_filter(filter);
    }
    let page_size = args.page_size.or_else(|| {
        args.limit
            .map(|limit| i32::try_from(limit.min(1000)).unwrap_or(1000))
    });
    if let Some(page_size) = page_size {
        request = request.set_page_size(page_size);
    }
    Ok(request)
}

pub(crate) async fn list(ctx: &Context, args: ListArgs) -> Result<u8, CliError> {
    let limit = args.limit.unwrap_or(u64::MAX);
    let mut stream = list_request(ctx, &args)?.operations();
    let mut operations = Vec::new();
    while (operations.len() as u64) < limit {
        match stream.next().await {
            Some(operation) => {
                let operation = operation?;
                if ctx.format == Format::Jsonl {
                    ctx.print(&output::json_line(&operation));
                }
                operations.push(operation);
            }
            None => break,
        }
    }
    match ctx.format {
        Format::Json => ctx.print(&output::json_array(&operations)),
        Format::Jsonl => {}
        Format::Table if operations.is_empty() => ctx.note("No operations."),
        Format::Table if args.long => {
            ctx.print(output::long_table(&operations, output::terminal_width()).trim_end())
        }
        Format::Table => ctx.print(output::table(&operations, output::terminal_width()).trim_end()),
    }
    Ok(exit::SUCCESS)
}

/// Prints operations in the chosen format: detail blocks for people.
fn print_operations(ctx: &Context, operations: &[Operation]) {
    match ctx.format {
        Format::Json => ctx.print(&output::json_array(operations)),
        Format::Jsonl => operations
            .iter()
            .for_each(|op| ctx.print(&output::json_line(op))),
        Format::Table => {
            let blocks: Vec<String> = operations.iter().map(output::detail).collect();
            ctx.print(blocks.join("\n").trim_end());
        }
    }
}

pub(crate) async fn get(ctx: &Context, id_or_name: &str) -> Result<u8, CliError> {
    let name = ctx.resolve(id_or_name)?;
    let operation = ctx.client.get(name).await?;
    match ctx.format {
        Format::Json => ctx.print(&output::json(&operation)),
        _ => print_operations(ctx, std::slice::from_ref(&operation)),
    }
    Ok(exit::SUCCESS)
}

pub(crate) async fn info(ctx: &Context, ids_or_names: &[String]) -> Result<u8, CliError> {
    let mut codes = Vec::new();
    let mut found = Vec::new();
    for id_or_name in ids_or_names {
        match ctx.client.get(ctx.resolve(id_or_name)?).await {
            Ok(operation) => found.push(operation),
            Err(error) => {
                super::report(&error);
                codes.push(exit::for_error(&error));
            }
        }
    }
    print_operations(ctx, &found);
    Ok(exit::worst(codes))
}

/// How one cancel went.
enum Cancelled {
    Requested(Operation),
    AlreadyFinished(Operation),
    Failed(String, eeops::Error),
}

/// Cancels one operation, telling "already finished" from a cancel the
/// server carried out at once by looking first.
async fn cancel_one(client: &Client, name: String) -> Cancelled {
    let result = async {
        let before = client.get(&name).await?;
        if before.done {
            return Ok(Cancelled::AlreadyFinished(before));
        }
        client.cancel(&name).await?;
        Ok(Cancelled::Requested(client.get(&name).await?))
    }
    .await;
    result.unwrap_or_else(|error| Cancelled::Failed(name, error))
}

pub(crate) async fn cancel(ctx: &Context, args: CancelArgs) -> Result<u8, CliError> {
    let names = if args.all {
        live_operations(ctx, &cancel_states(&args.state)).await?
    } else {
        args.ids_or_names
            .iter()
            .map(|id| ctx.resolve(id))
            .collect::<Result<Vec<_>, _>>()?
    };
    let outcomes: Vec<Cancelled> = stream::iter(names)
        .map(|name| cancel_one(&ctx.client, name))
        .buffer_unordered(CANCEL_CONCURRENCY)
        .collect()
        .await;
    let (mut requested, mut finished, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    for outcome in outcomes {
        match outcome {
            Cancelled::Requested(op) => requested.push(op),
            Cancelled::AlreadyFinished(op) => finished.push(op),
            Cancelled::Failed(name, error) => failed.push((name, error)),
        }
    }
    match ctx.format {
        Format::Table => {
            for op in &requested {
                ctx.print(&format!(
                    "{}: cancel requested, now {}",
                    op.name,
                    output::state_label(op)
                ));
            }
            for op in &finished {
                ctx.print(&format!(
                    "{}: already finished, {}",
                    op.name,
                    output::state_label(op)
                ));
            }
            for (_, error) in &failed {
                super::report(error);
            }
            if args.all {
                ctx.print(&format!(
                    "cancelled {}, already finished {}, failed to cancel {}",
                    requested.len(),
                    finished.len(),
                    failed.len()
                ));
            }
        }
        Format::Json | Format::Jsonl => {
            let names =
                |ops: &[Operation]| ops.iter().map(|op| op.name.clone()).collect::<Vec<_>>();
            let summary = serde_json::json!({
                "cancelled": names(&requested),
                "alreadyFinished": names(&finished),
                "failed": failed.iter().map(|(name, error)| serde_json::json!({
                    "name": name, "code": error.code().as_str_name(), "message": error.message()
                })).collect::<Vec<_>>(),
            });
            let text = if ctx.format == Format::Json {
                output::pretty(&summary)
            } else {
                summary.to_string()
            };
            ctx.print(&text);
        }
    }
    Ok(exit::worst(
        failed.iter().map(|(_, error)| exit::for_error(error)),
    ))
}

/// The states `cancel --all` acts on: those asked for, else PENDING and
/// RUNNING (a CANCELLING operation has been asked already).
fn cancel_states(asked: &[State]) -> Vec<State> {
    if asked.is_empty() {
        vec![State::Pending, State::Running]
    } else {
        asked.to_vec()
    }
}

/// The operations of the project `cancel --all` and `wait --all` act on:
/// every one not done and, when `states` are given, in one of them. Each is
/// judged by its own state as listed, never by what the server made of a
/// filter.
async fn live_operations(ctx: &Context, states: &[State]) -> Result<Vec<String>, CliError> {
    let filter = TaskFilter::new().with_states(states.iter().copied());
    let all = ctx
        .client
        .list(parent(ctx, None)?)
        .set_page_size(1000)
        .with_task_filter(filter)
        .operations()
        .try_collect()
        .await?;
    Ok(all
        .into_iter()
        .filter(|op| !op.done && !op.state().is_terminal())
        .map(|op| op.name)
        .collect())
}

pub(crate) async fn delete(ctx: &Context, ids_or_names: &[String]) -> Result<u8, CliError> {
    let mut codes = Vec::new();
    let mut deleted = Vec::new();
    for id_or_name in ids_or_names {
        let name = ctx.resolve(id_or_name)?;
        match ctx.client.delete(&name).await {
            Ok(()) => {
                if ctx.format == Format::Table {
                    ctx.print(&format!("{name}: deleted"));
                }
                deleted.push(serde_json::json!({ "name": name, "deleted": true }));
                codes.push(exit::SUCCESS);
            }
            Err(error) => {
                super::report(&error);
                codes.push(exit::for_error(&error));
            }
        }
    }
    match ctx.format {
        Format::Json => ctx.print(&output::pretty(&serde_json::Value::Array(deleted))),
        Format::Jsonl => deleted.iter().for_each(|d| ctx.print(&d.to_string())),
        Format::Table => {}
    }
    Ok(exit::worst(codes))
}

/// The exit code an operation's end stands for.
fn code_for(operation: Option<&Operation>) -> u8 {
    match operation.map(Operation::outcome) {
        Some(Outcome::Succeeded(_)) => exit::SUCCESS,
        Some(Outcome::Failed(_)) => exit::OPERATION_FAILED,
        Some(Outcome::Cancelled(_)) => exit::OPERATION_CANCELLED,
        Some(Outcome::NotDone) | None => exit::WAIT_TIMEOUT,
    }
}

pub(crate) async fn wait(ctx: &Context, args: WaitArgs) -> Result<u8, CliError> {
    let names = if args.all {
        live_operations(ctx, &[]).await?
    } else {
        args.ids_or_names
            .iter()
            .map(|id| ctx.resolve(id))
            .collect::<Result<Vec<_>, _>>()?
    };
    let watch = ctx
        .client
        .watch(names.clone())
        .with_polling(progress::policy(args.timeout));
    let outcome = progress::follow(watch, &names, Display::choose(ctx.quiet), |_| {}).await;
    finish(ctx, outcome)
}

pub(crate) async fn watch(ctx: &Context, ids_or_names: &[String]) -> Result<u8, CliError> {
    let names = ids_or_names
        .iter()
        .map(|id| ctx.resolve(id))
        .collect::<Result<Vec<_>, _>>()?;
    let watch = ctx
        .client
        .watch(names.clone())
        .with_polling(progress::policy(None));
    let format = ctx.format;
    let outcome = progress::follow(watch, &names, Display::Silent, |change| {
        let previous = change.previous.map(|state| state.as_str_name());
        if previous == Some(change.state.as_str_name()) {
            return;
        }
        let line = match format {
            Format::Table => format!(
                "{} {} {}{}",
                progress::clock(),
                change.operation.id(),
                previous.map_or(String::new(), |p| format!("{p} → ")),
                progress::describe(&change.operation)
            ),
            Format::Json | Format::Jsonl => serde_json::json!({
                "name": change.name(),
                "previous": previous,
                "state": change.state.as_str_name(),
                "operation": eeops::json::operation_to_json(&change.operation),
            })
            .to_string(),
        };
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    })
    .await;
    for error in &outcome.errors {
        super::report(error);
    }
    let codes = outcome.latest.iter().map(|(_, op)| code_for(op.as_ref()));
    Ok(exit::worst(
        codes.chain(outcome.errors.iter().map(exit::for_error)),
    ))
}

/// Prints where `wait` left the operations and picks the exit code.
fn finish(ctx: &Context, outcome: progress::Outcome) -> Result<u8, CliError> {
    for error in outcome
        .errors
        .iter()
        .filter(|e| e.code() != eeops::rpc::Code::DeadlineExceeded)
    {
        super::report(error);
    }
    let finals: Vec<Operation> = outcome
        .latest
        .iter()
        .filter_map(|(_, op)| op.clone())
        .collect();
    match ctx.format {
        Format::Json => ctx.print(&output::json_array(&finals)),
        Format::Jsonl => finals
            .iter()
            .for_each(|op| ctx.print(&output::json_line(op))),
        Format::Table if !finals.is_empty() => {
            ctx.print(output::table(&finals, output::terminal_width()).trim_end())
        }
        Format::Table => {}
    }
    let missing_errors = outcome
        .errors
        .iter()
        .filter(|e| e.code() != eeops::rpc::Code::DeadlineExceeded);
    let codes = outcome.latest.iter().map(|(_, op)| code_for(op.as_ref()));
    Ok(exit::worst(
        codes.chain(missing_errors.map(exit::for_error)),
    ))
}

/// Prints the HTTP/JSON requests a command would send, and sends nothing;
/// `cancel --all` shows which operations it would cancel.
pub(crate) async fn dry_run(ctx: &Context, command: Command) -> Result<u8, CliError> {
    let resolve_all = |ids: &[String]| {
        ids.iter()
            .map(|id| ctx.resolve(id))
            .collect::<Result<Vec<_>, _>>()
    };
    let previews = match command {
        Command::Cancel(args) if args.all => {
            let names = live_operations(ctx, &cancel_states(&args.state)).await?;
            for name in &names {
                ctx.print(&format!("would cancel {name}"));
            }
            ctx.print(&format!("{} operations would be cancelled", names.len()));
            return Ok(exit::SUCCESS);
        }
        Command::List(args) => vec![list_request(ctx, &args)?.http_preview()?],
        Command::Get { id_or_name } => {
            vec![ctx.client.get(ctx.resolve(&id_or_name)?).http_preview()?]
        }
        Command::Info { ids_or_names } => resolve_all(&ids_or_names)?
            .into_iter()
            .map(|name| ctx.client.get(name).http_preview())
            .collect::<Result<Vec<_>, _>>()?,
        Command::Cancel(args) => resolve_all(&args.ids_or_names)?
            .into_iter()
            .map(|name| ctx.client.cancel(name).http_preview())
            .collect::<Result<Vec<_>, _>>()?,
        Command::Delete { ids_or_names } => resolve_all(&ids_or_names)?
            .into_iter()
            .map(|name| ctx.client.delete(name).http_preview())
            .collect::<Result<Vec<_>, _>>()?,
        Command::Wait(args) => resolve_all(&args.ids_or_names)?
            .into_iter()
            .map(|name| ctx.client.wait(name).set_timeout(WAIT_STEP).http_preview())
            .collect::<Result<Vec<_>, _>>()?,
        Command::Watch { ids_or_names } => resolve_all(&ids_or_names)?
            .into_iter()
            .map(|name| ctx.client.get(name).http_preview())
            .collect::<Result<Vec<_>, _>>()?,
        Command::Serve(_) | Command::Demo | Command::Completions { .. } | Command::Report(_) => {
            return Err(CliError::Usage(
                "--dry-run applies to list, get, info, cancel, delete, wait and watch".into(),
            ));
        }
    };
    let text: Vec<String> = previews.iter().map(ToString::to_string).collect();
    ctx.print(text.join("\n").trim_end());
    Ok(exit::SUCCESS)
}

/// Flushes stdout, ignoring a closed pipe (`eeops list | head`).
pub(crate) fn flush() {
    let _ = std::io::stdout().flush();
}
