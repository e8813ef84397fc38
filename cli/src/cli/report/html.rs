//! The page: one self-contained HTML document, with its style inline and no
//! script, that loads nothing (its content security policy forbids it).

use std::fmt::Write as _;

use eeops::earthengine::State;

use super::escape::esc;
use super::model::{Outcome, Report, Task};
use super::time::{self, Millis};
use super::{charts, timeline};

/// How many rows the tables of slowest tasks and longest waits show.
const TABLE_ROWS: usize = 15;

const STYLE: &str = include_str!("style.css");

/// When and how the page was made, shown at its top.
#[derive(Clone, Debug)]
pub(crate) struct Provenance {
    pub(crate) project: String,
    pub(crate) endpoint: String,
    /// The filters as they were given, e.g. `--state FAILED --since 3d`.
    pub(crate) filters: String,
    /// The start of the window the filters chose, if any.
    pub(crate) since: Option<Millis>,
}

/// The whole page.
pub(crate) fn page(report: &Report, made: &Provenance) -> String {
    let mut out = String::with_capacity(4096 + report.tasks.len() * 700);
    let project = esc(&made.project);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"generator\" content=\"eeops {version}\">\n\
         <link rel=\"icon\" href=\"data:,\">\n\
         <title>Earth Engine tasks of {project}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        version = env!("CARGO_PKG_VERSION"),
    );
    header(&mut out, report, made);
    out.push_str(
        "<nav aria-label=\"Sections\"><ul>\
         <li><a href=\"#timeline\">Timeline</a></li>\
         <li><a href=\"#usage\">EECU-hours</a></li>\
         <li><a href=\"#finished\">Finished per day</a></li>\
         <li><a href=\"#failures\">Failures</a></li>\
         <li><a href=\"#slowest\">Slowest tasks</a></li>\
         <li><a href=\"#waits\">Longest queue waits</a></li></ul></nav>\n<main>\n",
    );
    timeline::write(&mut out, report);
    charts::write(&mut out, report);
    failures(&mut out, report);
    longest(
        &mut out,
        report,
        "slowest",
        "Slowest tasks",
        "Running time",
        Task::run_time,
    );
    longest(
        &mut out,
        report,
        "waits",
        "Longest queue waits",
        "Waited",
        Task::queue_wait,
    );
    out.push_str(
        "</main>\n<footer><p class=\"note\">Times are UTC. Unfinished phases are drawn up to \
         the moment the page was made. This file needs no network: it holds everything it shows.\
         </p></footer>\n</body>\n</html>\n",
    );
    out
}

fn header(out: &mut String, report: &Report, made: &Provenance) {
    let summary = &report.summary;
    let _ = write!(
        out,
        "<header>\n<h1>Earth Engine tasks of <code>{project}</code></h1>\n\
         <p class=\"totals\" id=\"totals\" data-tasks=\"{}\" data-succeeded=\"{}\" data-failed=\"{}\" \
         data-cancelled=\"{}\" data-running=\"{}\" data-cancelling=\"{}\" data-pending=\"{}\" \
         data-eecu-seconds=\"{:.3}\">{}</p>\n",
        summary.total,
        summary.count(State::Succeeded),
        summary.count(State::Failed),
        summary.count(State::Cancelled),
        summary.count(State::Running),
        summary.count(State::Cancelling),
        summary.count(State::Pending),
        summary.eecu_seconds,
        esc(&summary.headline()),
        project = esc(&made.project),
    );
    let window = match (made.since, report.span()) {
        (Some(since), _) => format!(
            "tasks created from {} to {} UTC",
            time::date_time(since),
            time::date_time(report.now)
        ),
        (None, Some((first, last))) => format!(
            "tasks created from {} UTC (the first listed) to {} UTC",
            time::date_time(first),
            time::date_time(last)
        ),
        (None, None) => "no task has a creation time".to_owned(),
    };
    let filters = if made.filters.is_empty() {
        "none (every task of the project)".to_owned()
    } else {
        format!("<code>{}</code>", esc(&made.filters))
    };
    let _ = writeln!(
        out,
        "<p class=\"made\" id=\"made\">Made on {} UTC by <code>eeops report</code> {} from \
         <code>{}</code> · filters: {filters} · window: {}.</p>\n</header>",
        time::date_time(report.now),
        env!("CARGO_PKG_VERSION"),
        esc(&made.endpoint),
        esc(&window),
    );
}

fn failures(out: &mut String, report: &Report) {
    out.push_str("<section id=\"failures\">\n<h2>Failures by message</h2>\n");
    let groups = report.failures.sorted();
    if groups.is_empty() {
        out.push_str("<p class=\"empty\">No task failed.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p class=\"note\">Messages that differ only in numbers and ids are one group \
         (<code>&lt;n&gt;</code> stands for a number, <code>&lt;id&gt;</code> for an id).</p>\n\
         <table><thead><tr><th class=\"n\">Tasks</th><th>Code</th><th>Message</th>\
         <th>For example</th></tr></thead><tbody>\n",
    );
    for group in groups {
        let examples: Vec<String> = group
            .examples
            .iter()
            .map(|id| format!("<span class=\"id\">{}</span>", esc(id)))
            .collect();
        let _ = writeln!(
            out,
            "<tr class=\"failure\" data-count=\"{}\" data-code=\"{}\" data-pattern=\"{}\" \
             data-examples=\"{}\"><td class=\"n\">{}</td><td><code>{}</code></td>\
             <td title=\"{}\">{}</td><td>{}</td></tr>",
            group.count,
            esc(&group.code),
            esc(&group.pattern),
            esc(&group.examples.join(" ")),
            group.count,
            esc(&group.code),
            esc(&group.sample),
            esc(&group.pattern),
            examples.join(", "),
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
}

/// A table of the tasks with the largest `measure`, largest first.
fn longest(
    out: &mut String,
    report: &Report,
    id: &str,
    title: &str,
    column: &str,
    measure: fn(&Task, Millis) -> Option<Millis>,
) {
    let _ = writeln!(out, "<section id=\"{id}\">\n<h2>{title}</h2>");
    let mut ranked: Vec<(Millis, &Task)> = report
        .tasks
        .iter()
        .filter_map(|task| measure(task, report.now).map(|length| (length, task)))
        .collect();
    if ranked.is_empty() {
        out.push_str("<p class=\"empty\">No task has the times this needs.</p>\n</section>\n");
        return;
    }
    let rows = ranked.len().min(TABLE_ROWS);
    // Only the first rows are needed in order.
    if ranked.len() > rows {
        ranked.select_nth_unstable_by(rows - 1, |a, b| b.0.cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
        ranked.truncate(rows);
    }
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
    let _ = writeln!(
        out,
        "<table><thead><tr><th class=\"n\">{column}</th><th>Description</th><th>Type</th>\
         <th>Outcome</th><th>Created (UTC)</th><th class=\"n\">EECU-s</th><th>Id</th></tr></thead><tbody>"
    );
    for (length, task) in ranked {
        let outcome = task.outcome();
        let still = if outcome == Outcome::Live && task.ended.is_none() {
            " so far"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<tr data-id=\"{id}\" data-ms=\"{length}\"><td class=\"n\">{}{still}</td><td>{}</td><td>{}</td>\
             <td class=\"outcome\"><span class=\"tag fill {}\" aria-hidden=\"true\"></span>{}</td><td class=\"when\">{}</td>\
             <td class=\"n\">{:.1}</td><td class=\"id\">{id}</td></tr>",
            time::span(length),
            esc(&task.description),
            esc(&task.kind),
            outcome.class(),
            task.state.as_str_name(),
            task.created.map_or_else(|| "-".to_owned(), time::date_time),
            task.eecu_seconds,
            id = esc(&task.id),
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
}
