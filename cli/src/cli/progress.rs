//! Following operations to the end, for `wait` and `watch`: live bars (or,
//! for many operations, a live summary) on a terminal, timestamped lines of
//! real state changes elsewhere, and one closing line saying how it ended.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write as _};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use eeops::earthengine::State;
use eeops::longrunning::Operation;
use eeops::{Change, Client, PollingPolicy};
use futures_util::future::BoxFuture;
use futures_util::stream::{SelectAll, StreamExt};

use super::human;
use super::interrupt::Interrupt;
use super::screen::Screen;
use super::task::Task;
use super::text::{self, fit, pad_left, pad_right, width};

/// More operations than this collapse into a summary.
const MAX_BARS: usize = 12;
/// How often the live display is redrawn when nothing changes (elapsed
/// times move).
const TICK: Duration = Duration::from_secs(1);
/// How often `--all` looks for operations created since it started.
const DISCOVER_EVERY: Duration = Duration::from_secs(10);

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

/// How changes are shown on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Display {
    /// Redrawn bars (or a summary) on a terminal.
    Bars,
    /// One timestamped line per state change.
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

/// Finds the live operations again, for `--all` (new ones are followed too).
pub(crate) type Discover<'a> =
    Box<dyn FnMut() -> BoxFuture<'a, Result<Vec<String>, eeops::Error>> + Send + 'a>;

/// What to follow and how.
pub(crate) struct Follow<'a> {
    pub(crate) client: &'a Client,
    pub(crate) names: Vec<String>,
    pub(crate) policy: PollingPolicy,
    pub(crate) display: Display,
    pub(crate) discover: Option<Discover<'a>>,
    pub(crate) interrupt: Interrupt,
}

/// What following ended with.
pub(crate) struct Outcome {
    /// The latest operation seen, by name, in the order followed.
    pub(crate) latest: Vec<(String, Option<Operation>)>,
    /// Operations that could not be followed, with why.
    pub(crate) errors: Vec<eeops::Error>,
    /// Ctrl-C stopped it.
    pub(crate) interrupted: bool,
    /// How long it took.
    pub(crate) elapsed: Duration,
}

impl Outcome {
    /// `3 succeeded, 1 failed in 14m` (and what is not done).
    pub(crate) fn final_line(&self) -> String {
        let mut counts: BTreeMap<u8, (usize, &str)> = BTreeMap::new();
        for (_, op) in &self.latest {
            let (rank, label) = match op.as_ref().map(Operation::state) {
                Some(State::Succeeded) => (0, "succeeded"),
                Some(State::Failed) => (1, "failed"),
                Some(State::Cancelled) => (2, "cancelled"),
                Some(State::Cancelling) => (3, "cancelling"),
                Some(State::Running) => (4, "still running"),
                // Pending, unspecified, or a state added later.
                Some(_) => (5, "still pending"),
                None => (6, "not read"),
            };
            counts.entry(rank).or_insert((0, label)).0 += 1;
        }
        let parts: Vec<String> = counts
            .values()
            .map(|(n, label)| format!("{n} {label}"))
            .collect();
        let what = if parts.is_empty() {
            "no operations".to_owned()
        } else {
            parts.join(", ")
        };
        let when = human::span(self.elapsed);
        if self.interrupted {
            format!("interrupted after {when}: {what}")
        } else {
            format!("{what} in {when}")
        }
    }
}

/// Follows operations until every one is done (with `discover`, until none
/// is live any more), the time limit passes or Ctrl-C. `on_change` sees
/// each change and may return a line for stdout, printed above the live
/// display.
pub(crate) async fn follow(
    follow: Follow<'_>,
    mut on_change: impl FnMut(&Change) -> Option<String>,
) -> Outcome {
    let Follow {
        client,
        names,
        policy,
        display,
        mut discover,
        interrupt,
    } = follow;
    let mut board = Board::new(display);
    let mut streams = SelectAll::new();
    let mut followed: Vec<String> = Vec::new();
    let mut start_watching = |new: Vec<String>, streams: &mut SelectAll<_>, board: &mut Board| {
        let new: Vec<String> = new
            .into_iter()
            .filter(|name| !followed.contains(name))
            .collect();
        if new.is_empty() {
            return;
        }
        followed.extend(new.iter().cloned());
        board.order.extend(new.iter().cloned());
        streams.push(client.watch(new).with_polling(policy.clone()).stream());
    };
    start_watching(names, &mut streams, &mut board);
    let mut errors = Vec::new();
    let mut ticker = tokio::time::interval(TICK);
    let mut rediscover = tokio::time::interval(DISCOVER_EVERY);
    rediscover.reset();
    loop {
        tokio::select! {
            () = interrupt.wait() => break,
            event = streams.next(), if !streams.is_empty() => match event {
                Some(Ok(change)) => {
                    let line = on_change(&change);
                    board.update(&change, line.as_deref());
                }
                Some(Err(error)) => {
                    // The time limit ends every watch still running: said once below.
                    if error.code() != eeops::rpc::Code::DeadlineExceeded {
                        board.note(&format!("error: {error}"));
                    }
                    errors.push(error);
                }
                None => {}
            },
            _ = ticker.tick(), if display == Display::Bars => board.redraw(),
            _ = rediscover.tick(), if discover.is_some() => {
                if let Some(find) = discover.as_mut() {
                    match find().await {
                        Ok(live) => start_watching(live, &mut streams, &mut board),
                        Err(error) => board.note(&format!("error: cannot list live operations: {error}")),
                    }
                }
            }
        }
        if streams.is_empty() {
            // All followed operations are done; `--all` looks once more
            // for operations created meanwhile before it ends.
            let Some(find) = discover.as_mut() else { break };
            match find().await {
                Ok(live) => {
                    let before = streams.len();
                    start_watching(live, &mut streams, &mut board);
                    if streams.len() == before {
                        break;
                    }
                }
                Err(error) => {
                    board.note(&format!("error: cannot list live operations: {error}"));
                    break;
                }
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
    board.clear();
    let latest = board
        .order
        .iter()
        .map(|name| (name.clone(), board.latest.remove(name)))
        .collect();
    Outcome {
        latest,
        errors,
        interrupted: interrupt.fired(),
        elapsed: board.start.elapsed(),
    }
}

/// The live display on stderr.
struct Board {
    display: Display,
    order: Vec<String>,
    latest: HashMap<String, Operation>,
    /// The last change, shown under the summary.
    last_change: Option<String>,
    drawn_lines: usize,
    start: Instant,
}

impl Board {
    fn new(display: Display) -> Self {
        Self {
            display,
            order: Vec::new(),
            latest: HashMap::new(),
            last_change: None,
            drawn_lines: 0,
            start: Instant::now(),
        }
    }

    fn update(&mut self, change: &Change, stdout_line: Option<&str>) {
        let state_changed = change.previous != Some(change.state);
        if state_changed {
            let line = change_line(change);
            if self.display == Display::Lines {
                eprintln!("{} {line}", clock());
            }
            if change.previous.is_some() {
                self.last_change = Some(line);
            }
        }
        self.latest
            .insert(change.name().to_owned(), change.operation.clone());
        if let Some(line) = stdout_line {
            self.clear();
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
        }
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

    fn lines(&self, width: usize) -> Vec<String> {
        if self.order.len() > MAX_BARS {
            let mut lines = vec![self.summary(width)];
            if let Some(last) = &self.last_change {
                lines.push(format!("  latest: {last}"));
            }
            return lines;
        }
        self.order
            .iter()
            .map(|name| match self.latest.get(name) {
                Some(op) => bar_line(op, width),
                None => format!(
                    "{} {} waiting for the first answer",
                    " ".repeat(bar_width(width) + 2),
                    eeops::operation_id(name)
                ),
            })
            .collect()
    }

    /// `[####------] 42%  27 operations: 3 running · 20 succeeded · 2m10s`.
    fn summary(&self, width: usize) -> String {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut progress = 0.0;
        for op in self.latest.values() {
            *counts.entry(op.state().as_str_name()).or_default() += 1;
            progress += Task::new(op).fraction();
        }
        let waiting = self.order.len().saturating_sub(self.latest.len());
        let mut parts: Vec<String> = counts
            .iter()
            .map(|(state, n)| format!("{n} {}", state.to_ascii_lowercase()))
            .collect();
        if waiting > 0 {
            parts.push(format!("{waiting} not yet seen"));
        }
        let fraction = progress / self.order.len().max(1) as f64;
        format!(
            "{} {:>3.0}%  {} operations: {} · {}",
            bar(fraction, bar_width(width)),
            fraction * 100.0,
            self.order.len(),
            parts.join(" · "),
            human::span(self.start.elapsed())
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
        if self.display != Display::Bars || self.order.is_empty() {
            return;
        }
        self.clear();
        let width = Screen::stderr().width.unwrap_or(80);
        let lines = self.lines(width);
        let mut stderr = std::io::stderr().lock();
        for line in &lines {
            let _ = writeln!(stderr, "{}", fit(line, width.saturating_sub(1)));
        }
        let _ = stderr.flush();
        self.drawn_lines = lines.len();
    }
}

/// The bar's share of a line.
fn bar_width(width: usize) -> usize {
    (width / 5).clamp(10, 40)
}

fn bar(fraction: f64, columns: usize) -> String {
    let filled = ((fraction * columns as f64).round() as usize).min(columns);
    format!("[{}{}]", "#".repeat(filled), "-".repeat(columns - filled))
}

/// `[#####-----]  42% RUNNING     3m10s  ~4m left  description  ID`.
fn bar_line(op: &Operation, width: usize) -> String {
    let task = Task::new(op);
    let fraction = task.fraction();
    let elapsed = task
        .run_time()
        .or_else(|| task.queue_time())
        .map_or_else(String::new, human::span);
    let left = remaining(&task).map_or_else(String::new, |d| format!("~{} left", human::span(d)));
    let head = format!(
        "{} {} {} {} {}",
        bar(fraction, bar_width(width)),
        pad_left(&format!("{:.0}%", fraction * 100.0), 4),
        pad_right(task.state_name(), 10),
        pad_left(&elapsed, 6),
        pad_right(&left, 10),
    );
    let room = width.saturating_sub(width_of(&head) + 2);
    let description = text::one_line(task.description());
    let label = if description.is_empty() {
        task.id().to_owned()
    } else if width_of(&description) + 2 + width_of(task.id()) <= room {
        format!("{description}  {}", task.id())
    } else {
        description
    };
    let mut line = format!("{head} {}", fit(&label, room));
    if let Some(error) = task.error() {
        line.push_str(&format!("  {error}"));
    }
    fit(line.trim_end(), width)
}

fn width_of(text: &str) -> usize {
    width(text)
}

/// The time left, from the progress so far, once there is some.
fn remaining(task: &Task) -> Option<Duration> {
    if task.op.done || task.state() != State::Running {
        return None;
    }
    time_left(task.run_time()?, task.meta.progress_fraction())
}

/// What is left at the pace so far: `ran` took `fraction` of the work. No
/// guess before 2% (too early to say) or at 100%.
fn time_left(ran: Duration, fraction: f64) -> Option<Duration> {
    if !(0.02..1.0).contains(&fraction) {
        return None;
    }
    Some(ran.mul_f64((1.0 - fraction) / fraction))
}

/// `ID description: RUNNING → SUCCEEDED (error)`.
fn change_line(change: &Change) -> String {
    let task = Task::new(&change.operation);
    let mut line = task.id().to_owned();
    let description = text::one_line(task.description());
    if !description.is_empty() {
        line.push_str(&format!(" {description}"));
    }
    line.push_str(": ");
    if let Some(previous) = change.previous {
        line.push_str(previous.as_str_name());
        line.push_str(" → ");
    }
    line.push_str(&describe(&change.operation));
    line
}

/// `RUNNING 42% Computing` or `FAILED (INVALID_ARGUMENT: ...)`.
pub(crate) fn describe(op: &Operation) -> String {
    let task = Task::new(op);
    let mut text = task.state_name().to_owned();
    if task.state() != State::Pending && !op.done {
        let progress = task.progress();
        if progress != "-" {
            text.push(' ');
            text.push_str(&progress);
        }
    }
    let stage = task
        .meta
        .stages
        .iter()
        .find(|s| i64::from(s.complete_work_units) < s.total_work_units);
    if let (false, Some(stage)) = (op.done, stage) {
        text.push(' ');
        text.push_str(&stage.display_name);
    }
    if let Some(error) = task.error() {
        text.push_str(&format!(" ({error})"));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn done(state: i32) -> Option<Operation> {
        let metadata = eeops::earthengine::OperationMetadata {
            state,
            ..Default::default()
        };
        Some(Operation {
            name: "projects/p/operations/X".into(),
            metadata: Some(prost_types::Any {
                type_url: eeops::EARTH_ENGINE_METADATA_TYPE_URLS[0].into(),
                value: prost::Message::encode_to_vec(&metadata),
            }),
            done: true,
            result: None,
        })
    }

    #[test]
    fn the_final_line_counts_outcomes() {
        let outcome = Outcome {
            latest: vec![
                ("a".into(), done(State::Succeeded as i32)),
                ("b".into(), done(State::Succeeded as i32)),
                ("c".into(), done(State::Succeeded as i32)),
                ("d".into(), done(State::Failed as i32)),
            ],
            errors: vec![],
            interrupted: false,
            elapsed: Duration::from_secs(14 * 60),
        };
        assert_eq!(outcome.final_line(), "3 succeeded, 1 failed in 14m");
    }

    #[test]
    fn time_left_follows_the_pace_so_far() {
        let s = Duration::from_secs;
        assert_eq!(time_left(s(60), 0.25), Some(s(180)));
        assert_eq!(time_left(s(600), 0.5), Some(s(600)));
        assert_eq!(time_left(s(1), 0.01), None, "too early to say");
        assert_eq!(time_left(s(60), 1.0), None, "nothing left");
        assert_eq!(time_left(s(60), f64::NAN), None);
    }

    #[test]
    fn a_running_bar_shows_the_time_left() {
        let started = std::time::SystemTime::now() - Duration::from_secs(20 * 60);
        let metadata = eeops::earthengine::OperationMetadata {
            state: State::Running as i32,
            progress: 0.5,
            start_time: Some(started.into()),
            create_time: Some(started.into()),
            ..Default::default()
        };
        let op = Operation {
            name: "projects/p/operations/X".into(),
            metadata: Some(prost_types::Any {
                type_url: eeops::EARTH_ENGINE_METADATA_TYPE_URLS[0].into(),
                value: prost::Message::encode_to_vec(&metadata),
            }),
            done: false,
            result: None,
        };
        let line = bar_line(&op, 120);
        assert!(
            line.contains(" 50% RUNNING") && line.contains(" 20m ~20m left"),
            "{line:?}"
        );
    }

    #[test]
    fn bars_fit_the_width() {
        let op = done(State::Succeeded as i32).unwrap_or_default();
        for width in [40, 80, 200] {
            let line = bar_line(&op, width);
            assert!(width_of(&line) <= width, "{line:?} in {width}");
        }
    }
}
