//! One function per command.

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use eeops::{TaskFilter, operation_id};

use super::args::{Command, Format, ListArgs, SummaryArgs};
use super::exit;
use super::interrupt::Interrupt;
use super::list_printer::{Printer, Row};
use super::listing::{LARGEST_PAGE, parent};
use super::output::{self, View};
use super::sort::{self, SortValue};
use super::summary::Tally;
use super::{CliError, Context};

/// The server-side wait a `--dry-run` of `wait` shows.
const WAIT_STEP: Duration = Duration::from_secs(5);

/// The first page's request of a `list`: `--filter` goes to the server as
/// given, the other conditions are checked here. Pages are as large as the
/// server allows unless `--page-size` says otherwise, and no larger than
/// `--limit`.
fn list_request(ctx: &Context, args: &ListArgs) -> Result<eeops::ListOperations, CliError> {
    let mut request = ctx
        .client
        .list(parent(ctx, args.parent.as_ref())?)
        .with_task_filter(args.filters.task_filter(SystemTime::now()));
    if let Some(filter) = args.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        request = request.set_filter(filter);
    }
    let page_size = args.page_size.unwrap_or_else(|| {
        let limit = args.limit.unwrap_or(u64::MAX).min(LARGEST_PAGE as u64);
        i32::try_from(limit).unwrap_or(LARGEST_PAGE)
    });
    Ok(request.set_page_size(page_size))
}

/// `list`: each page is printed as it arrives (see `list_printer`), unless
/// `--sort-by` or `--reverse` asks for an order of the tool's own: then
/// each operation's rendered row and sort value are kept until the end.
pub(crate) async fn list(ctx: &Context, args: ListArgs) -> Result<u8, CliError> {
    let limit = args.limit.unwrap_or(u64::MAX);
    let view = if args.long { View::Long } else { View::List };
    let mut printer = Printer::new(ctx.format, view, ctx.screen);
    let reordered = args.sort_by.is_some() || args.reverse;
    let mut kept: Vec<(SortValue, Row)> = Vec::new();
    let mut listed = 0u64;
    let mut pages = list_request(ctx, &args)?.pages();
    while listed < limit {
        let Some(page) = pages.next().await else {
            break;
        };
        let page = page?;
        let room = usize::try_from(limit - listed).unwrap_or(usize::MAX);
        let operations = &page.operations[..page.operations.len().min(room)];
        listed += operations.len() as u64;
        if reordered {
            kept.extend(operations.iter().map(|op| {
                // --reverse alone: one value for all, the server's order kept.
                let value = args
                    .sort_by
                    .map_or(SortValue::Rank(0), |by| SortValue::of(op, by.key));
                (value, printer.row(op))
            }));
            continue;
        }
        let rows: Vec<Row> = operations.iter().map(|op| printer.row(op)).collect();
        if let Some(code) = ctx.write(&printer.rows(&rows)).stop() {
            return Ok(code);
        }
    }
    // The next page is never asked for once --limit is reached: dropping
    // the stream here ends the listing.
    drop(pages);
    if reordered {
        if let Some(by) = args.sort_by {
            sort::sort_by_value(&mut kept, by);
        }
        if args.reverse {
            kept.reverse();
        }
        let rows: Vec<Row> = kept.into_iter().map(|(_, row)| row).collect();
        // Laid out for all of them, written a page's worth at a time.
        printer.lay_out_for(&rows);
        for chunk in rows.chunks(LARGEST_PAGE as usize) {
            if let Some(code) = ctx.write(&printer.rows(chunk)).stop() {
                return Ok(code);
            }
        }
    }
    if let Some(code) = ctx.write(&printer.end()).stop() {
        return Ok(code);
    }
    if ctx.format == Format::Table && printer.printed() == 0 {
        ctx.note("No operations.");
    }
    Ok(exit::SUCCESS)
}

/// `summary`: totals over the project's operations (created within
/// `--since`), counted page by page.
pub(crate) async fn summary(ctx: &Context, args: SummaryArgs) -> Result<u8, CliError> {
    let mut filter = TaskFilter::new();
    if let Some(since) = args.since {
        filter = filter.with_created_since(since.cutoff(SystemTime::now()));
    }
    let mut operations = ctx
        .client
        .list(parent(ctx, args.parent.as_ref())?)
        .set_page_size(LARGEST_PAGE)
        .with_task_filter(filter)
        .operations();
    let mut tally = Tally::default();
    while let Some(operation) = operations.next().await {
        tally.add(&operation?);
    }
    let summary = tally.finish();
    let text = match ctx.format {
        Format::Json => output::pretty(&summary.json()),
        Format::Jsonl => summary.json().to_string(),
        Format::Table | Format::Tsv | Format::Csv => summary.text(),
    };
    ctx.print(&text);
    Ok(exit::SUCCESS)
}

pub(crate) async fn get(ctx: &Context, id_or_name: &str) -> Result<u8, CliError> {
    let name = ctx.resolve(id_or_name)?;
    let operation = ctx.client.get(name).await?;
    let text = match ctx.format {
        Format::Json => output::json(&operation),
        format => output::render(
            format,
            View::Detail,
            ctx.screen,
            std::slice::from_ref(&operation),
        ),
    };
    ctx.print(&text);
    Ok(exit::SUCCESS)
}

/// Shows every operation found, then what could not be read: the good
/// results come first, the errors below them.
pub(crate) async fn info(ctx: &Context, ids_or_names: &[String]) -> Result<u8, CliError> {
    let names = ids_or_names
        .iter()
        .map(|id| ctx.resolve(id))
        .collect::<Result<Vec<_>, _>>()?;
    let mut errors = Vec::new();
    let mut found = Vec::new();
    for name in names {
        match ctx.client.get(name).await {
            Ok(operation) => found.push(operation),
            Err(error) => errors.push(error),
        }
    }
    // Blocks of `field: value` lines read well in a pager and grep well
    // too, so they stay the default off a terminal.
    let format = ctx.explicit_format.unwrap_or(Format::Table);
    if !found.is_empty() {
        ctx.print(&output::render(format, View::Detail, ctx.screen, &found));
    }
    flush();
    for error in &errors {
        super::report(error);
    }
    Ok(exit::worst(errors.iter().map(exit::for_error)))
}

/// Deletes one operation after another; Ctrl-C stops before the next one
/// and says how far it got.
pub(crate) async fn delete(ctx: &Context, ids_or_names: &[String]) -> Result<u8, CliError> {
    let names = ids_or_names
        .iter()
        .map(|id| ctx.resolve(id))
        .collect::<Result<Vec<_>, _>>()?;
    let interrupt = Interrupt::arm();
    let mut codes = Vec::new();
    let mut deleted = Vec::new();
    let mut failed = 0;
    for name in &names {
        if interrupt.fired() {
            break;
        }
        match ctx.client.delete(name).await {
            Ok(()) => {
                match ctx.format {
                    Format::Table => ctx.print(&format!("{}: deleted", operation_id(name))),
                    Format::Tsv => ctx.print(&format!("{}\tdeleted", operation_id(name))),
                    Format::Csv | Format::Json | Format::Jsonl => {}
                }
                deleted.push(name.clone());
            }
            Err(error) => {
                super::report(&error);
                codes.push(exit::for_error(&error));
                failed += 1;
            }
        }
    }
    let json = |name: &String| serde_json::json!({ "name": name, "deleted": true });
    match ctx.format {
        Format::Json => ctx.print(&output::pretty(&serde_json::Value::Array(
            deleted.iter().map(json).collect(),
        ))),
        Format::Jsonl => deleted.iter().for_each(|d| ctx.print(&json(d).to_string())),
        Format::Csv => {
            ctx.print("name,deleted");
            deleted.iter().for_each(|d| ctx.print(&format!("{d},true")));
        }
        Format::Table | Format::Tsv => {}
    }
    if interrupt.fired() {
        let not_attempted = names.len() - deleted.len() - failed;
        eprintln!(
            "interrupted: deleted {}, failed {failed}, not attempted {not_attempted}",
            deleted.len()
        );
        return Ok(exit::INTERRUPTED);
    }
    Ok(exit::worst(codes))
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
            let names = super::cancel::to_cancel(ctx, &args.state).await?;
            for op in &names {
                ctx.print(&format!("would cancel {}", op.name));
            }
            ctx.print(&format!("{} operations would be cancelled", names.len()));
            return Ok(exit::SUCCESS);
        }
        Command::List(args) => vec![list_request(ctx, &args)?.http_preview()?],
        Command::Summary(args) => vec![
            ctx.client
                .list(parent(ctx, args.parent.as_ref())?)
                .set_page_size(LARGEST_PAGE)
                .http_preview()?,
        ],
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
            .map(|name| {
                ctx.client
                    .wait_once(name)
                    .set_server_wait(WAIT_STEP)
                    .http_preview()
            })
            .collect::<Result<Vec<_>, _>>()?,
        Command::Watch(args) => resolve_all(&args.ids_or_names)?
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
