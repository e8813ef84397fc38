//! `cancel`: asks the server to cancel operations, and says exactly what
//! happened — a cancel that was requested is not yet a cancelled operation,
//! and a failure to re-read one after its cancel is not a failed cancel.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use eeops::Client;
use eeops::earthengine::State;
use eeops::longrunning::Operation;
use futures_util::stream::{FuturesUnordered, StreamExt};

use super::args::{CancelArgs, Format};
use super::exit;
use super::interrupt::Interrupt;
use super::listing::live_operations;
use super::output::{self, View};
use super::{CliError, Context};

/// How many cancels are in flight at once.
const CONCURRENCY: usize = 8;

/// How one cancel went.
enum Cancelled {
    /// The cancel was accepted; this is the operation re-read after it.
    Requested(Operation),
    /// The cancel was accepted, but re-reading the operation failed.
    RequestedUnread(String, eeops::Error),
    /// It had ended before: nothing to cancel.
    AlreadyFinished(Operation),
    /// Reading it or cancelling it failed.
    Failed(String, eeops::Error),
}

/// Cancels one operation. `look_first` reads it before, to tell "already
/// finished" from a cancel (`--all` knows its operations are live).
async fn cancel_one(client: &Client, name: String, look_first: bool) -> Cancelled {
    if look_first {
        match client.get(&name).await {
            Ok(before) if before.done => return Cancelled::AlreadyFinished(before),
            Ok(_) => {}
            Err(error) => return Cancelled::Failed(name, error),
        }
    }
    if let Err(error) = client.cancel(&name).await {
        return Cancelled::Failed(name, error);
    }
    match client.get(&name).await {
        Ok(after) => Cancelled::Requested(after),
        Err(error) => Cancelled::RequestedUnread(name, error),
    }
}

/// What `cancel` did, in the order it learned it.
#[derive(Default)]
struct Tally {
    /// Requested and seen cancelled already.
    cancelled: Vec<Operation>,
    /// Requested and still cancelling (or pending/running) when re-read.
    requested: Vec<Operation>,
    unread: Vec<(String, eeops::Error)>,
    finished: Vec<Operation>,
    failed: Vec<(String, eeops::Error)>,
}

impl Tally {
    fn add(&mut self, outcome: Cancelled) {
        match outcome {
            Cancelled::Requested(op) if op.state() == State::Cancelled => self.cancelled.push(op),
            Cancelled::Requested(op) => self.requested.push(op),
            Cancelled::RequestedUnread(name, error) => self.unread.push((name, error)),
            Cancelled::AlreadyFinished(op) => self.finished.push(op),
            Cancelled::Failed(name, error) => self.failed.push((name, error)),
        }
    }

    fn done(&self) -> usize {
        self.cancelled.len()
            + self.requested.len()
            + self.unread.len()
            + self.finished.len()
            + self.failed.len()
    }

    /// `cancel requested for 40 (12 already cancelled) · 2 already
    /// finished · 1 failed`, plus what was not attempted.
    fn summary(&self, not_attempted: usize) -> String {
        let requested = self.cancelled.len() + self.requested.len() + self.unread.len();
        let mut parts = vec![format!("cancel requested for {requested}")];
        if !self.cancelled.is_empty() {
            parts[0].push_str(&format!(" ({} already cancelled)", self.cancelled.len()));
        }
        if !self.unread.is_empty() {
            parts.push(format!(
                "{} not re-read after the request",
                self.unread.len()
            ));
        }
        if !self.finished.is_empty() {
            parts.push(format!("{} already finished", self.finished.len()));
        }
        parts.push(format!("{} failed", self.failed.len()));
        if not_attempted > 0 {
            parts.push(format!("{not_attempted} not attempted"));
        }
        parts.join(" · ")
    }
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

/// The operations `cancel --all` acts on, as it and its `--dry-run` list them.
pub(crate) async fn to_cancel(ctx: &Context, asked: &[State]) -> Result<Vec<Operation>, CliError> {
    live_operations(ctx, &cancel_states(asked)).await
}

pub(crate) async fn cancel(ctx: &Context, args: CancelArgs) -> Result<u8, CliError> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let ask = args.all && !args.yes && !ctx.quiet;
    if ask && !interactive {
        return Err(CliError::Usage(
            "cancel --all asks for confirmation and there is no terminal to ask on: \
             pass --yes to cancel without asking (see what it would cancel with --dry-run)"
                .into(),
        ));
    }
    let names = if args.all {
        let live = to_cancel(ctx, &args.state).await?;
        if ask && !confirm(&live)? {
            ctx.note("Nothing cancelled.");
            return Ok(exit::SUCCESS);
        }
        live.into_iter().map(|op| op.name).collect()
    } else {
        args.ids_or_names
            .iter()
            .map(|id| ctx.resolve(id))
            .collect::<Result<Vec<_>, _>>()?
    };
    let total = names.len();
    let interrupt = Interrupt::arm();
    let mut tally = Tally::default();
    let mut queue = names.into_iter();
    let mut in_flight = FuturesUnordered::new();
    let mut announced = false;
    let mut started = false;
    loop {
        // After Ctrl-C nothing new is sent; what is in flight finishes, so
        // that the summary is true (a second Ctrl-C exits at once).
        if interrupt.fired() && !announced {
            announced = true;
            eprintln!(
                "\ninterrupted: finishing the {} cancel(s) in flight (Ctrl-C again to stop at once)",
                in_flight.len()
            );
        }
        while !interrupt.fired() && in_flight.len() < CONCURRENCY {
            match queue.next() {
                Some(name) => in_flight.push(cancel_one(&ctx.client, name, !args.all)),
                None => break,
            }
        }
        if in_flight.is_empty() {
            break;
        }
        if args.all && !started {
            started = true;
            ctx.note(&format!("Cancelling {total} operation(s)…"));
        }
        tokio::select! {
            () = interrupt.wait(), if !announced => {}
            Some(outcome) = in_flight.next() => {
                report_one(ctx, &outcome);
                tally.add(outcome);
            }
        }
    }
    let not_attempted = total - tally.done();
    print_summary(ctx, &tally, args.all || total > 1, not_attempted);
    if interrupt.fired() {
        return Ok(exit::INTERRUPTED);
    }
    Ok(exit::worst(
        tally.failed.iter().map(|(_, error)| exit::for_error(error)),
    ))
}

/// Lists what `--all` would cancel and asks; true to go ahead.
fn confirm(live: &[Operation]) -> Result<bool, CliError> {
    if live.is_empty() {
        return Ok(true);
    }
    let screen = super::screen::Screen::stderr();
    eprintln!(
        "{}",
        output::render(Format::Table, View::List, screen, live)
    );
    eprint!("Cancel these {} operations? [y/N] ", live.len());
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|error| CliError::Usage(format!("cannot read the answer: {error}")))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// One line as each cancel comes back (tables and TSV); errors on stderr.
fn report_one(ctx: &Context, outcome: &Cancelled) {
    let (id, what, state, message) = match outcome {
        Cancelled::Requested(op) if op.state() == State::Cancelled => (
            op.id(),
            "cancelled",
            op.state().as_str_name(),
            String::new(),
        ),
        Cancelled::Requested(op) => (
            op.id(),
            "cancel requested",
            op.state().as_str_name(),
            String::new(),
        ),
        Cancelled::RequestedUnread(name, error) => (
            eeops::operation_id(name),
            "cancel requested",
            "",
            format!("could not re-read it: {error}"),
        ),
        Cancelled::AlreadyFinished(op) => (
            op.id(),
            "already finished",
            op.state().as_str_name(),
            String::new(),
        ),
        Cancelled::Failed(name, error) => {
            if ctx.format == Format::Tsv {
                ctx.print(&format!(
                    "{}\tfailed\t\t{}",
                    eeops::operation_id(name),
                    super::text::one_line(&error.to_string())
                ));
            }
            super::report(error);
            return;
        }
    };
    match ctx.format {
        Format::Table => {
            let mut line = format!("{id}: {what}");
            if !state.is_empty() && what != "cancelled" {
                line.push_str(&format!(
                    ", now {}",
                    ctx.screen.state(outcome_state(outcome), state)
                ));
            }
            if !message.is_empty() {
                line.push_str(&format!("; {message}"));
            }
            ctx.print(&line);
        }
        Format::Tsv => ctx.print(&format!(
            "{id}\t{}\t{state}\t{}",
            what.replace(' ', "-"),
            super::text::one_line(&message)
        )),
        Format::Json | Format::Jsonl | Format::Csv => {}
    }
}

fn outcome_state(outcome: &Cancelled) -> State {
    match outcome {
        Cancelled::Requested(op) | Cancelled::AlreadyFinished(op) => op.state(),
        _ => State::Unspecified,
    }
}

fn print_summary(ctx: &Context, tally: &Tally, totals: bool, not_attempted: usize) {
    match ctx.format {
        Format::Table => {
            if totals {
                ctx.print(&tally.summary(not_attempted));
            }
        }
        Format::Tsv => {}
        Format::Json | Format::Jsonl | Format::Csv => {
            let names =
                |ops: &[Operation]| ops.iter().map(|op| op.name.clone()).collect::<Vec<_>>();
            let errors = |list: &[(String, eeops::Error)]| {
                list.iter()
                    .map(|(name, error)| {
                        serde_json::json!({
                            "name": name,
                            "code": error.code().as_str_name(),
                            "message": error.message(),
                        })
                    })
                    .collect::<Vec<_>>()
            };
            let summary = serde_json::json!({
                "cancelled": names(&tally.cancelled),
                "cancelRequested": names(&tally.requested),
                "cancelRequestedNotReread": errors(&tally.unread),
                "alreadyFinished": names(&tally.finished),
                "failed": errors(&tally.failed),
                "notAttempted": not_attempted,
            });
            ctx.print(&if ctx.format == Format::Json {
                output::pretty(&summary)
            } else {
                summary.to_string()
            });
        }
    }
}
