//! One function per command.

use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eeops::earthengine::State;
use eeops::longrunning::Operation;
use eeops::rpc::Code;
use eeops::{Client, Outcome};
use futures_util::future::join_all;
use tokio::time::Instant;

use super::args::{Command, Format, ListArgs, WaitArgs};
use super::exit;
use super::output;
use super::{CliError, Context};

/// Longest single server-side wait, so progress keeps coming.
const WAIT_STEP: Duration = Duration::from_secs(5);
/// Polling interval when the server cannot wait (WaitOperation UNIMPLEMENTED).
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The first page's request of a `list`.
fn list_request(ctx: &Context, args: &ListArgs) -> Result<eeops::ListOperations, CliError> {
    let parent = match &args.parent {
        Some(parent) => parent.clone(),
        None => format!("projects/{}", ctx.project()?),
    };
    let mut request = ctx.client.list(parent);
    if let Some(filter) = &args.filter {
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
            Some(operation) => operations.push(operation?),
            None => break,
        }
    }
    match ctx.format {
        Format::Json => ctx.print(&output::json_array(&operations)),
        Format::Table if operations.is_empty() => ctx.note("No operations."),
        Format::Table => ctx.print(output::table(&operations, output::terminal_width()).trim_end()),
    }
    Ok(exit::SUCCESS)
}

pub(crate) async fn get(ctx: &Context, id_or_name: &str) -> Result<u8, CliError> {
    let name = ctx.resolve(id_or_name)?;
    let operation = ctx.client.get(name).await?;
    match ctx.format {
        Format::Json => ctx.print(&output::json(&operation)),
        Format::Table => ctx.print(output::detail(&operation).trim_end()),
    }
    Ok(exit::SUCCESS)
}

pub(crate) async fn cancel(ctx: &Context, ids_or_names: &[String]) -> Result<u8, CliError> {
    let mut codes = Vec::new();
    let mut after = Vec::new();
    for id_or_name in ids_or_names {
        let name = ctx.resolve(id_or_name)?;
        // Looking first tells "already finished" apart from a cancel that
        // a server carried out at once.
        let result = async {
            let before = ctx.client.get(&name).await?;
            if before.done {
                return Ok((before, "already finished"));
            }
            ctx.client.cancel(&name).await?;
            Ok((ctx.client.get(&name).await?, "cancel requested"))
        }
        .await;
        match result {
            Ok((operation, verb)) => {
                if ctx.format == Format::Table {
                    ctx.print(&format!(
                        "{}: {verb}, now {}",
                        operation.name,
                        output::state_label(&operation)
                    ));
                }
                after.push(operation);
                codes.push(exit::SUCCESS);
            }
            Err(error) => {
                super::report(&error);
                codes.push(exit::for_error(&error));
            }
        }
    }
    if ctx.format == Format::Json {
        ctx.print(&output::json_array(&after));
    }
    Ok(exit::worst(codes))
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
    if ctx.format == Format::Json {
        ctx.print(&output::pretty(&serde_json::Value::Array(deleted)));
    }
    Ok(exit::worst(codes))
}

pub(crate) async fn wait(ctx: &Context, args: WaitArgs) -> Result<u8, CliError> {
    let names = args
        .ids_or_names
        .iter()
        .map(|id_or_name| ctx.resolve(id_or_name))
        .collect::<Result<Vec<_>, _>>()?;
    let deadline = args.timeout.map(|timeout| Instant::now() + timeout);
    let results = join_all(names.iter().map(|name| wait_one(ctx, name, deadline))).await;
    let mut codes = Vec::new();
    let mut finals = Vec::new();
    for result in results {
        match result {
            Ok(operation) => {
                codes.push(match operation.outcome() {
                    Outcome::NotDone => exit::WAIT_TIMEOUT,
                    Outcome::Succeeded(_) => exit::SUCCESS,
                    Outcome::Cancelled(_) => exit::OPERATION_CANCELLED,
                    Outcome::Failed(_) => exit::OPERATION_FAILED,
                });
                finals.push(operation);
            }
            Err(error) => {
                super::report(&error);
                codes.push(exit::for_error(&error));
            }
        }
    }
    match ctx.format {
        Format::Json => ctx.print(&output::json_array(&finals)),
        Format::Table if !finals.is_empty() => {
            ctx.print(output::table(&finals, output::terminal_width()).trim_end());
        }
        Format::Table => {}
    }
    Ok(exit::worst(codes))
}

/// Waits on one operation until it is done or `deadline` passes, reporting
/// each change. Uses the server's WaitOperation, and polls Get when the
/// server does not implement it.
pub(crate) async fn wait_one(
    ctx: &Context,
    name: &str,
    deadline: Option<Instant>,
) -> Result<Operation, eeops::Error> {
    let client: &Client = &ctx.client;
    let mut server_waits = true;
    let mut last_seen = String::new();
    loop {
        let step = deadline.map_or(WAIT_STEP, |d| {
            d.saturating_duration_since(Instant::now()).min(WAIT_STEP)
        });
        let started = Instant::now();
        let operation = if server_waits && !step.is_zero() {
            match client.wait(name).set_timeout(step).await {
                Ok(operation) => operation,
                Err(error) if error.code() == Code::Unimplemented => {
                    server_waits = false;
                    client.get(name).await?
                }
                Err(error) => return Err(error),
            }
        } else {
            client.get(name).await?
        };
        let summary = progress_line(&operation);
        if summary != last_seen {
            ctx.note(&format!("{} {summary}", clock_time()));
            last_seen = summary;
        }
        if operation.done || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(operation);
        }
        // A server that answers a wait at once (or no wait at all) is polled
        // at a steady pace instead of in a tight loop.
        let pause = if server_waits {
            WAIT_STEP / 5
        } else {
            POLL_INTERVAL
        };
        if started.elapsed() < pause {
            let until = Instant::now() + pause;
            tokio::time::sleep_until(deadline.map_or(until, |d| d.min(until))).await;
        }
    }
}

/// Prints the HTTP/JSON requests a command would send, and sends nothing.
pub(crate) fn dry_run(ctx: &Context, command: Command) -> Result<u8, CliError> {
    let resolve_all = |ids: &[String]| {
        ids.iter()
            .map(|id| ctx.resolve(id))
            .collect::<Result<Vec<_>, _>>()
    };
    let previews = match command {
        Command::List(args) => vec![list_request(ctx, &args)?.http_preview()?],
        Command::Get { id_or_name } => {
            vec![ctx.client.get(ctx.resolve(&id_or_name)?).http_preview()?]
        }
        Command::Cancel { ids_or_names } => resolve_all(&ids_or_names)?
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
        Command::Serve(_) | Command::Demo => {
            return Err(CliError::Usage(
                "--dry-run applies to list, get, cancel, delete and wait".into(),
            ));
        }
    };
    let text: Vec<String> = previews.iter().map(ToString::to_string).collect();
    ctx.print(text.join("\n").trim_end());
    Ok(exit::SUCCESS)
}

/// `ID STATE 42% Computing`, for progress lines.
pub(crate) fn progress_line(operation: &Operation) -> String {
    let mut line = format!("{} {}", operation.id(), output::state_label(operation));
    if let Some(metadata) = operation.earth_engine_metadata() {
        if operation.state() != State::Pending {
            line.push_str(&format!(" {}", output::progress_label(operation)));
        }
        let current_stage = metadata
            .stages
            .iter()
            .find(|s| i64::from(s.complete_work_units) < s.total_work_units);
        if let (false, Some(stage)) = (operation.done, current_stage) {
            line.push_str(&format!(" {}", stage.display_name));
        }
    }
    if let Some(error) = operation.error() {
        line.push_str(&format!(
            " ({}: {})",
            error.code().as_str_name(),
            error.message()
        ));
    }
    line
}

/// The current UTC time as `HH:MM:SS`.
fn clock_time() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Flushes stdout, ignoring a closed pipe (`eeops list | head`).
pub(crate) fn flush() {
    let _ = std::io::stdout().flush();
}
