//! Tables for people. Task ids are never cut; the description gets the
//! room that is left first (at least 30 columns at 80), then the type; an
//! error is shown whole, wrapped at word boundaries, under its task. Off a
//! terminal nothing is cut at all.

use eeops::earthengine::State;
use eeops::longrunning::Operation;

use super::human;
use super::screen::Screen;
use super::task::Task;
use super::text::{self, pad_left, pad_right, width, wrap};

/// Columns between cells.
const GAP: &str = "  ";
/// The description's share before the type column is shown.
const DESCRIPTION_FIRST: usize = 48;
/// Where an error line starts under its task.
const ERROR_MARK: &str = "  └ ";

/// One task of the `list` table, reduced to the text its cells show: what
/// a listing keeps of an operation until it is printed.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    id: String,
    state: State,
    progress: String,
    age: String,
    kind: String,
    /// On one line, whole; cut to the column when printed.
    description: String,
    error: Option<String>,
}

impl Row {
    pub(crate) fn of(operation: &Operation) -> Self {
        let task = Task::new(operation);
        Self {
            id: task.id().to_owned(),
            state: task.state(),
            progress: task.progress(),
            age: human::ago(task.created()),
            kind: task.kind().to_owned(),
            description: text::one_line(task.description()),
            error: task.error(),
        }
    }
}

/// The widths of the `list` table's columns, from the rows it was laid
/// out for; rows printed later with it keep their values whole (off a
/// terminal) or cut to it (on one).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    id: usize,
    state: usize,
    progress: usize,
    age: usize,
    kind: Option<usize>,
    description: usize,
}

impl Layout {
    /// The widths that fit `rows` on `screen`.
    pub(crate) fn of(rows: &[Row], screen: Screen) -> Self {
        let natural = |header: &str, value: &dyn Fn(&Row) -> usize| {
            rows.iter()
                .map(value)
                .chain([width(header)])
                .max()
                .unwrap_or(0)
        };
        let id = natural("ID", &|r| width(&r.id));
        let state = natural("STATE", &|r| r.state.as_str_name().len());
        let progress = natural("PROG", &|r| r.progress.len());
        let age = rows
            .iter()
            .map(|r| r.age.len())
            .chain([3])
            .max()
            .unwrap_or(3);
        let kind = natural("TYPE", &|r| width(&r.kind));
        let description = natural("DESCRIPTION", &|r| width(&r.description));
        let any_kind = rows.iter().any(|r| !r.kind.is_empty());
        let fixed = id + state + progress + age + 4 * GAP.len();
        match screen.width {
            None => Self {
                id,
                state,
                progress,
                age,
                kind: any_kind.then_some(kind),
                description,
            },
            Some(total) => {
                let room = total.saturating_sub(fixed);
                let first = description.min(DESCRIPTION_FIRST);
                let kind = (any_kind && room >= first + GAP.len() + kind).then_some(kind);
                let left = room.saturating_sub(kind.map_or(0, |k| k + GAP.len()));
                Self {
                    id,
                    state,
                    progress,
                    age,
                    kind,
                    description: description.min(left).max(11),
                }
            }
        }
    }

    /// The header line.
    pub(crate) fn header(&self) -> String {
        let mut header = vec![
            pad_right("ID", self.id),
            pad_right("STATE", self.state),
            pad_left("PROG", self.progress),
            pad_left("AGE", self.age),
        ];
        if let Some(kind) = self.kind {
            header.push(pad_right("TYPE", kind));
        }
        header.push("DESCRIPTION".into());
        line(&header)
    }

    /// One task's line, and its error wrapped under it.
    pub(crate) fn row(&self, row: &Row, screen: Screen) -> String {
        let mut cells = vec![
            pad_right(&row.id, self.id),
            screen.state(row.state, &pad_right(row.state.as_str_name(), self.state)),
            pad_left(&row.progress, self.progress),
            pad_left(&row.age, self.age),
        ];
        if let Some(kind) = self.kind {
            cells.push(pad_right(&text::fit(&row.kind, kind), kind));
        }
        cells.push(text::fit(&row.description, self.description));
        let mut out = line(&cells);
        if let Some(error) = &row.error {
            out.push_str(&error_lines(error, screen));
        }
        out
    }
}

/// The table of `list` and `wait`: id, state, progress, age, type and
/// description, one line per task.
pub(crate) fn table(operations: &[Operation], screen: Screen) -> String {
    let rows: Vec<Row> = operations.iter().map(Row::of).collect();
    let layout = Layout::of(&rows, screen);
    let mut out = layout.header();
    for row in &rows {
        out.push_str(&layout.row(row, screen));
    }
    out
}

/// An error under its task, whole, wrapped at word boundaries.
pub(crate) fn error_lines(error: &str, screen: Screen) -> String {
    screen.indented(ERROR_MARK, error)
}

fn line(cells: &[String]) -> String {
    format!("{}\n", cells.join(GAP).trim_end())
}

/// The headers of `list --long`.
const LONG_HEADERS: [&str; 9] = [
    "ID",
    "STATE",
    "PROG",
    "CREATED",
    "RAN",
    "EECU-H",
    "TYPE",
    "DESCRIPTION",
    "RESULT",
];

/// One task of `list --long`: its cells, and on a terminal the block it
/// becomes when the table is too wide for the screen.
#[derive(Clone, Debug)]
pub(crate) struct LongRow {
    cells: [String; 9],
    state: State,
    block: Option<String>,
}

impl LongRow {
    pub(crate) fn of(operation: &Operation, screen: Screen) -> Self {
        let t = Task::new(operation);
        Self {
            cells: [
                t.id().to_owned(),
                t.state_name().to_owned(),
                t.progress(),
                human::short_time(t.meta.create_time),
                t.run_time().map_or_else(|| "-".into(), human::span),
                eecu_hours(t.eecu_seconds()),
                t.kind().to_owned(),
                text::one_line(t.description()),
                result(&t),
            ],
            state: t.state(),
            // Off a terminal the table is never too wide.
            block: screen.width.map(|_| long_block(&t, screen)),
        }
    }
}

/// How `list --long` lays its rows out.
#[derive(Clone, Debug)]
pub(crate) enum LongLayout {
    /// One line per task (more when its result wraps).
    Table {
        natural: [usize; 9],
        description: usize,
        /// The result column's width on a terminal.
        result: Option<usize>,
    },
    /// A few lines per task: the screen is too narrow for the table.
    Blocks,
}

impl LongLayout {
    /// The layout that fits `rows` on `screen`.
    pub(crate) fn of(rows: &[LongRow], screen: Screen) -> Self {
        let natural: [usize; 9] = std::array::from_fn(|c| {
            rows.iter()
                .map(|r| width(&r.cells[c]))
                .chain([width(LONG_HEADERS[c])])
                .max()
                .unwrap_or(0)
        });
        let fixed: usize = natural[..7].iter().sum::<usize>() + 8 * GAP.len();
        match screen.width {
            None => Self::Table {
                natural,
                description: natural[7],
                result: None,
            },
            Some(total) => {
                let room = total.saturating_sub(fixed);
                let description = natural[7].min(room.saturating_sub(30)).max(30);
                let result = room.saturating_sub(description);
                if result < 30 {
                    return Self::Blocks;
                }
                Self::Table {
                    natural,
                    description,
                    result: Some(result),
                }
            }
        }
    }

    /// The header line (none for blocks).
    pub(crate) fn header(&self, screen: Screen) -> String {
        self.render(LONG_HEADERS, None, screen)
    }

    /// One task's lines.
    pub(crate) fn row(&self, row: &LongRow, screen: Screen) -> String {
        match (self, &row.block) {
            (Self::Blocks, Some(block)) => block.clone(),
            _ => {
                let cells = std::array::from_fn(|c| row.cells[c].as_str());
                self.render(cells, Some(row.state), screen)
            }
        }
    }

    fn render(&self, cells: [&str; 9], state: Option<State>, screen: Screen) -> String {
        let Self::Table {
            natural,
            description,
            result,
        } = self
        else {
            return String::new();
        };
        let fixed: usize = natural[..7].iter().sum::<usize>() + 8 * GAP.len();
        let indent = fixed + description + GAP.len();
        let mut parts = Vec::with_capacity(9);
        for (c, cell) in cells[..7].iter().enumerate() {
            let padded = if matches!(c, 2 | 4 | 5) {
                pad_left(cell, natural[c])
            } else {
                pad_right(cell, natural[c])
            };
            parts.push(match (c, state) {
                (1, Some(state)) => screen.state(state, &padded),
                _ => padded,
            });
        }
        parts.push(pad_right(&text::fit(cells[7], *description), *description));
        let result = match result {
            Some(columns) => wrap(cells[8], *columns),
            None => vec![cells[8].to_owned()],
        };
        parts.push(result.first().cloned().unwrap_or_default());
        let mut out = line(&parts);
        for more in result.iter().skip(1) {
            out.push_str(&format!("{}{more}\n", " ".repeat(indent)));
        }
        out
    }
}

/// `list --long`: one line per task with times, EECU, type, description
/// and the result (the error of a failed task, else where it wrote to) when
/// that fits the screen; otherwise a few lines per task.
pub(crate) fn long_table(operations: &[Operation], screen: Screen) -> String {
    let rows: Vec<LongRow> = operations
        .iter()
        .map(|op| LongRow::of(op, screen))
        .collect();
    let layout = LongLayout::of(&rows, screen);
    let mut out = layout.header(screen);
    for row in &rows {
        out.push_str(&layout.row(row, screen));
    }
    out
}

/// The error of a failed or cancelled task, else its destinations.
fn result(task: &Task) -> String {
    task.error()
        .unwrap_or_else(|| task.destinations().join(" "))
}

/// EECU-seconds as hours, with two decimals below ten; `-` for none.
pub(crate) fn eecu_hours(seconds: f64) -> String {
    let hours = seconds / 3600.0;
    match hours {
        h if h.is_nan() || h <= 0.0 => "-".into(),
        h if h < 0.01 => "<0.01".into(),
        h if h < 10.0 => format!("{h:.2}"),
        h => format!("{h:.1}"),
    }
}

/// `--long` on a narrow screen: a title line for the task, then its
/// details wrapped at word boundaries.
fn long_block(task: &Task, screen: Screen) -> String {
    let mut out = String::new();
    // The description wraps under itself, after id, state and progress.
    let head = format!("{}  {} {}  ", task.id(), task.state_name(), task.progress());
    let title = screen.indented(&head, task.description());
    let coloured = format!(
        "{}  {} {}  ",
        task.id(),
        screen.state(task.state(), task.state_name()),
        task.progress()
    );
    out.push_str(&coloured);
    out.push_str(title.get(head.len()..).unwrap_or_default());
    let mut facts = Vec::new();
    if !task.kind().is_empty() {
        facts.push(task.kind().to_owned());
    }
    facts.push(format!(
        "created {} ({} ago)",
        human::short_time(task.meta.create_time),
        human::ago(task.created())
    ));
    if let Some(ran) = task.run_time() {
        facts.push(format!("ran {}", human::span(ran)));
    }
    if task.eecu_seconds() > 0.0 {
        facts.push(format!("{} EECU-h", eecu_hours(task.eecu_seconds())));
    }
    facts.push(format!("priority {}", task.meta.priority));
    if task.meta.attempt > 0 {
        facts.push(format!("attempt {}", task.meta.attempt));
    }
    out.push_str(&screen.indented("    ", &facts.join(" · ")));
    for uri in task.destinations() {
        out.push_str(&screen.indented("    → ", uri));
    }
    if let Some(error) = task.error() {
        out.push_str(&screen.indented("    └ ", &error));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(width: usize) -> Screen {
        Screen {
            width: Some(width),
            color: false,
        }
    }

    fn failed(id: &str, message: &str) -> Operation {
        Operation {
            name: format!("projects/p/operations/{id}"),
            done: true,
            result: Some(eeops::longrunning::operation::Result::Error(
                eeops::rpc::Status {
                    code: 3,
                    message: message.into(),
                    details: vec![],
                },
            )),
            ..Default::default()
        }
    }

    #[test]
    fn operations_of_other_services_render() {
        let op = Operation {
            name: "operations/batch/2024/item-7".into(),
            metadata: Some(prost_types::Any {
                type_url: "type.googleapis.com/google.protobuf.Struct".into(),
                value: vec![],
            }),
            done: false,
            result: None,
        };
        let rendered = table(std::slice::from_ref(&op), screen(80));
        assert!(rendered.contains("batch/2024/item-7"), "{rendered}");
        assert!(rendered.contains("RUNNING"), "{rendered}");
    }

    #[test]
    fn lines_fit_the_width_and_errors_wrap_whole() {
        let message = "a very long error message that goes on and on and on about quotas";
        let ops = [
            failed("ABCDEFGHIJKLMNOPQRSTUVWX", message),
            failed("BBCDEFGHIJKLMNOPQRSTUVWX", message),
        ];
        let rendered = table(&ops, screen(60));
        for line in rendered.lines() {
            assert!(width(line) <= 60, "{line:?} is {} wide", width(line));
        }
        assert!(rendered.contains("└ INVALID_ARGUMENT: a very long"));
        let words: Vec<&str> = rendered
            .lines()
            .skip_while(|l| !l.contains('└'))
            .take_while(|l| l.starts_with(' '))
            .flat_map(|l| l.split_whitespace())
            .filter(|w| *w != "└")
            .collect();
        assert_eq!(words.join(" "), format!("INVALID_ARGUMENT: {message}"));
        // Off a terminal every value is whole, on one line.
        let plain = table(&ops, Screen::PLAIN);
        assert!(plain.contains(&format!("└ INVALID_ARGUMENT: {message}\n")));
    }
}
