//! Following operations to the end: live progress bars on a terminal, plain
//! timestamped lines elsewhere; `wait` and `watch` share it.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eeops::earthengine::State;
use eeops::longrunning::Operation;
use eeops::{PollingPolicy, Watch};

use super::output;

/// More operations than this are summed up on one line.
const MAX_BARS: usize = 12;
const BAR_WIDTH: usize = 20;

/// The polling pace of the command line: quick to notice the end.
pub(crate) fn policy(timeout: Option<Duration>) -> PollingPolicy {
    let policy = PollingPolicy::new()
        .with_initial_interval(Duration::from_millis(500))
        .with_max_interval(Duration::from_secs(5));
    match timeout {
        Some(limit) => policy.with_time_limit(limit),
        None => policy,
    }
}

/// How changes are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Display {
    /// Redrawn bars (or a summary) on stderr, a terminal.
    Bars,
    /// One timestamped line per change on stderr.
    Lines,
    /// Nothing (quiet).
    Silent,
}

impl Display {
    pub(crate) fn choose(quiet: bool) -> Self {
        if quiet {
            Self::Silent
        } else if std::io::stderr().is_terminal() {
            Self::Bars
        } else {
            Self::Lines
        }
    }
}

/// What the watch ended with for each operation.
#[derive(Default)]
pub(crate) struct Outcome {
    /// The latest operation seen, by name, in the order asked for.
    pub(crate) latest: Vec<(String, Option<Operation>)>,
    /// Operations that could not be followed, with why.
    pub(crate) errors: Vec<eeops::Error>,
}

/// Follows `names` with `watch` until the end, showing changes; `on_change`
/// also sees each one (for `watch`'s output).
pub(crate) async fn follow(
    watch: Watch,
    names: &[String],
    display: Display,
    mut on_change: impl FnMut(&eeops::Change),
) -> Outcome {
    let mut board = Board::new(names, display);
    let mut stream = watch.stream();
    let mut errors = Vec::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(change) => {
                on_change(&change);
                board.update(&change);
            }
            // The time limit ends every watch still running: said once below.
            Err(error) if error.code() == eeops::rpc::Code::DeadlineExceeded => errors.push(error),
            Err(error) => {
                board.note(&format!("error: {error}"));
                errors.push(error);
            }
        }
    }
    let timed_out = errors
        .iter()
        .filter(|e| e.code() == eeops::rpc::Code::DeadlineExceeded)
        .count();
    if timed_out > 0 {
        board.note(&format!(
            "the time limit passed with {timed_out} operation(s) not done"
        ));
    }
    board.finish();
    let latest = names
        .iter()
        .map(|name| (name.clone(), board.latest.remove(name)))
        .collect();
    Outcome { latest, errors }
}

/// The live display.
struct Board {
    display: Display,
    order: Vec<String>,
    latest: BTreeMap<String, Operation>,
    drawn_lines: usize,
}

impl Board {
    fn new(names: &[String], display: Display) -> Self {
        Self {
            display,
            order: names.to_vec(),
            latest: BTreeMap::new(),
            drawn_lines: 0,
        }
    }

    fn update(&mut self, change: &eeops::Change) {
        if self.display == Display::Lines {
            let previous = change
                .previous
                .map_or(String::new(), |state| format!("{} → ", state.as_str_name()));
            eprintln!(
                "{} {} {previous}{}",
                clock(),
                change.operation.id(),
                describe(&change.operation)
            );
        }
        self.latest
            .insert(change.name().to_owned(), change.operation.clone());
        if self.display == Display::Bars {
            self.redraw();
        }
    }

    fn note(&mut self, text: &str) {
        match self.display {
            Display::Silent => {}
            Display::Lines => eprintln!("{} {text}", clock()),
            Display::Bars => {
                self.clear();
                eprintln!("{text}");
                self.redraw();
            }
        }
    }

    fn lines(&self) -> Vec<String> {
        if self.order.len() > MAX_BARS {
            return vec![self.summary()];
        }
        self.order
            .iter()
            .map(|name| match self.latest.get(name) {
                Some(op) => format!(
                    "{} {} {}",
                    bar(op),
                    output::fit(eeops::operation_id(name), 26),
                    describe(op)
                ),
                None => format!(
                    "{} {} waiting for the first answer",
                    "·".repeat(BAR_WIDTH + 2),
                    output::fit(eeops::operation_id(name), 26)
                ),
            })
            .collect()
    }

    /// `3 running · 1 pending · 40 succeeded · 1 failed — 87%`.
    fn summary(&self) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut progress = 0.0;
        for op in self.latest.values() {
            *counts.entry(op.state().as_str_name()).or_default() += 1;
            progress += op
                .earth_engine_metadata()
                .map_or(if op.done { 1.0 } else { 0.0 }, |m| m.progress_fraction());
        }
        let waiting = self.order.len().saturating_sub(self.latest.len());
        let mut parts: Vec<String> = counts
            .iter()
            .map(|(state, n)| format!("{n} {}", state.to_ascii_lowercase()))
            .collect();
        if waiting > 0 {
            parts.push(format!("{waiting} not yet seen"));
        }
        let overall = 100.0 * progress / self.order.len().max(1) as f64;
        format!(
            "{} operations: {} — {overall:.0}%",
            self.order.len(),
            parts.join(" · ")
        )
    }

    fn clear(&mut self) {
        if self.drawn_lines > 0 {
            // Up to the first line drawn, then clear to the end of the screen.
            eprint!("\x1b[{}A\r\x1b[J", self.drawn_lines);
            self.drawn_lines = 0;
        }
    }

    fn redraw(&mut self) {
        self.clear();
        let width = output::terminal_width();
        let lines = self.lines();
        let mut stderr = std::io::stderr().lock();
        for line in &lines {
            let _ = writeln!(stderr, "{}", output::fit(line, width.saturating_sub(1)));
        }
        let _ = stderr.flush();
        self.drawn_lines = lines.len();
    }

    fn finish(&mut self) {
        // The bars stay on screen as the final picture.
        self.drawn_lines = 0;
    }
}

fn bar(op: &Operation) -> String {
    let fraction = op
        .earth_engine_metadata()
        .map_or(if op.done { 1.0 } else { 0.0 }, |m| m.progress_fraction());
    let filled = ((fraction * BAR_WIDTH as f64).round() as usize).min(BAR_WIDTH);
    format!("[{}{}]", "#".repeat(filled), "-".repeat(BAR_WIDTH - filled))
}

/// `RUNNING 42% Computing` or `FAILED (INVALID_ARGUMENT: ...)`.
pub(crate) fn describe(op: &Operation) -> String {
    let mut text = output::state_label(op).to_owned();
    if op.state() != State::Pending {
        let progress = output::progress_label(op);
        if progress != "-" {
            text.push(' ');
            text.push_str(&progress);
        }
    }
    if let Some(metadata) = op.earth_engine_metadata() {
        let stage = metadata
            .stages
            .iter()
            .find(|s| i64::from(s.complete_work_units) < s.total_work_units);
        if let (false, Some(stage)) = (op.done, stage) {
            text.push(' ');
            text.push_str(&stage.display_name);
        }
    }
    if let Some(error) = op.error() {
        text.push_str(&format!(
            " ({}: {})",
            error.code().as_str_name(),
            error.message()
        ));
    }
    text
}

/// The current UTC time as `HH:MM:SS`.
pub(crate) fn clock() -> String {
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
