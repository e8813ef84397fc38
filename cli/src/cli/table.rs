//! Tables for people. Task ids are never cut; the description gets the
//! room that is left first (at least 30 columns at 80), then the type; an
//! error is shown whole, wrapped at word boundaries, under its task. Off a
//! terminal nothing is cut at all.

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

/// The widths of the `list` table's columns.
struct Layout {
    id: usize,
    state: usize,
    progress: usize,
    age: usize,
    kind: Option<usize>,
    description: usize,
}

/// The table of `list` and `wait`: id, state, progress, age, type and
/// description, one line per task.
pub(crate) fn table(operations: &[Operation], screen: Screen) -> String {
    let tasks: Vec<Task> = operations.iter().map(Task::new).collect();
    let ages: Vec<String> = tasks.iter().map(|t| human::ago(t.created())).collect();
    let natural = |header: &str, value: &dyn Fn(&Task) -> usize| {
        tasks
            .iter()
            .map(value)
            .chain([width(header)])
            .max()
            .unwrap_or(0)
    };
    let id = natural("ID", &|t| width(t.id()));
    let state = natural("STATE", &|t| t.state_name().len());
    let progress = natural("PROG", &|t| t.progress().len());
    let age = ages.iter().map(|a| a.len()).chain([3]).max().unwrap_or(3);
    let kind = natural("TYPE", &|t| width(t.kind()));
    let description = natural("DESCRIPTION", &|t| width(&text::one_line(t.description())));
    let any_kind = tasks.iter().any(|t| !t.kind().is_empty());
    let fixed = id + state + progress + age + 4 * GAP.len();
    let layout = match screen.width {
        None => Layout {
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
            Layout {
                id,
                state,
                progress,
                age,
                kind,
                description: description.min(left).max(11),
            }
        }
    };
    let mut header = vec![
        pad_right("ID", layout.id),
        pad_right("STATE", layout.state),
        pad_left("PROG", layout.progress),
        pad_left("AGE", layout.age),
    ];
    if let Some(kind) = layout.kind {
        header.push(pad_right("TYPE", kind));
    }
    header.push("DESCRIPTION".into());
    let mut out = line(&header);
    for (task, age) in tasks.iter().zip(&ages) {
        let mut cells = vec![
            pad_right(task.id(), layout.id),
            screen.state(task.state(), &pad_right(task.state_name(), layout.state)),
            pad_left(&task.progress(), layout.progress),
            pad_left(age, layout.age),
        ];
        if let Some(kind) = layout.kind {
            cells.push(pad_right(&text::fit(task.kind(), kind), kind));
        }
        cells.push(text::fit(task.description(), layout.description));
        out.push_str(&line(&cells));
        if let Some(error) = task.error() {
            out.push_str(&error_lines(&error, screen));
        }
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

/// `list --long`: one line per task with times, EECU, type, description
/// and the result (the error of a failed task, else where it wrote to) when
/// that fits the screen; otherwise a few lines per task.
pub(crate) fn long_table(operations: &[Operation], screen: Screen) -> String {
    let tasks: Vec<Task> = operations.iter().map(Task::new).collect();
    let rows: Vec<[String; 9]> = tasks
        .iter()
        .map(|t| {
            [
                t.id().to_owned(),
                t.state_name().to_owned(),
                t.progress(),
                human::short_time(t.meta.create_time),
                t.run_time().map_or_else(|| "-".into(), human::span),
                eecu_hours(t.eecu_seconds()),
                t.kind().to_owned(),
                text::one_line(t.description()),
                result(t),
            ]
        })
        .collect();
    let headers = [
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
    let natural: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .map(|r| width(&r[c]))
                .chain([width(headers[c])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let fixed: usize = natural[..7].iter().sum::<usize>() + 8 * GAP.len();
    let (description, result_width) = match screen.width {
        None => (natural[7], None),
        Some(total) => {
            let room = total.saturating_sub(fixed);
            let description = natural[7].min(room.saturating_sub(30)).max(30);
            let result = room.saturating_sub(description);
            if result < 30 {
                return long_blocks(&tasks, screen);
            }
            (description, Some(result))
        }
    };
    let indent = fixed + description + GAP.len();
    let render = |cells: [&str; 9], state: Option<&Task>| {
        let mut parts = Vec::with_capacity(9);
        for (c, cell) in cells[..7].iter().enumerate() {
            let padded = if matches!(c, 2 | 4 | 5) {
                pad_left(cell, natural[c])
            } else {
                pad_right(cell, natural[c])
            };
            parts.push(match (c, state) {
                (1, Some(task)) => screen.state(task.state(), &padded),
                _ => padded,
            });
        }
        parts.push(pad_right(&text::fit(cells[7], description), description));
        let result = match result_width {
            Some(columns) => wrap(cells[8], columns),
            None => vec![cells[8].to_owned()],
        };
        parts.push(result.first().cloned().unwrap_or_default());
        let mut out = line(&parts);
        for more in &result[1..] {
            out.push_str(&format!("{}{more}\n", " ".repeat(indent)));
        }
        out
    };
    let mut out = render(headers, None);
    for (task, row) in tasks.iter().zip(&rows) {
        let cells = std::array::from_fn(|c| row[c].as_str());
        out.push_str(&render(cells, Some(task)));
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

/// `--long` on a narrow screen: a title line per task, then its details
/// wrapped at word boundaries.
fn long_blocks(tasks: &[Task], screen: Screen) -> String {
    let mut out = String::new();
    for task in tasks {
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
