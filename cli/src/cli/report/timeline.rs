//! The timeline: one row per task, its queue wait and its run as two shades
//! of its outcome's colour. Rows come in groups (a UTC day of creation, cut
//! into runs of at most [`GROUP_ROWS`]) that open and close, each on its own
//! time scale and scrolling on its own, so that thousands of tasks never
//! make a page tens of thousands of pixels long.

use std::fmt::Write as _;

use super::escape::esc;
use super::model::{Outcome, Report, Task};
use super::time::{self, DAY, HOUR, MINUTE, Millis};

/// The most rows one group holds.
pub(crate) const GROUP_ROWS: usize = 200;
/// With at most this many tasks every group starts open; with more, only
/// the newest.
const ALL_OPEN: usize = 300;
/// Steps the axis may use between ticks.
const TICK_STEPS: [Millis; 14] = [
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
];
const MOST_TICKS: Millis = 7;

pub(crate) fn write(out: &mut String, report: &Report) {
    out.push_str(
        "<section id=\"timeline\">\n<h2>Timeline</h2>\n<ul class=\"legend\" aria-label=\"Legend\">",
    );
    for outcome in Outcome::ALL {
        let _ = write!(
            out,
            "<li><span class=\"swatch {}\" aria-hidden=\"true\"><span class=\"q fill\"></span>\
             <span class=\"r fill\"></span></span>{}</li>",
            outcome.class(),
            outcome.label()
        );
    }
    out.push_str(
        "</ul>\n<p class=\"note\">Each row is a task: the lighter part is its wait in the queue, \
         the darker part its run; a dashed end means it had not finished when the page was made. \
         Hover over a row for its id, type, times, EECU-seconds, attempt and error. Rows are \
         grouped by the UTC day the tasks were created; each group has its own time scale. \
         Printing shows the open groups in full and the closed ones as their summary line.</p>\n",
    );
    let mut order: Vec<&Task> = report.tasks.iter().collect();
    order.sort_by(|a, b| {
        (a.created.is_none(), a.created, &a.id).cmp(&(b.created.is_none(), b.created, &b.id))
    });
    let groups = split(&order);
    if groups.is_empty() {
        out.push_str("<p class=\"empty\">No tasks.</p>\n");
    }
    let all_open = report.tasks.len() <= ALL_OPEN;
    let newest = groups.iter().rposition(|g| g[0].created.is_some());
    for (index, group) in groups.iter().enumerate() {
        write_group(out, group, all_open || Some(index) == newest, report.now);
    }
    out.push_str("</section>\n");
}

/// Consecutive tasks of one creation day, at most [`GROUP_ROWS`] at a time;
/// tasks without a creation time come last, together.
fn split<'a>(order: &[&'a Task]) -> Vec<Vec<&'a Task>> {
    let mut groups: Vec<Vec<&Task>> = Vec::new();
    for &task in order {
        let day = task.created.map(time::day_of);
        match groups.last_mut() {
            Some(group)
                if group.len() < GROUP_ROWS && group[0].created.map(time::day_of) == day =>
            {
                group.push(task);
            }
            _ => groups.push(vec![task]),
        }
    }
    groups
}

fn write_group(out: &mut String, group: &[&Task], open: bool, now: Millis) {
    let (from, to) = scale(group, now);
    let mut counts = [0usize; 4];
    for task in group {
        counts[task.outcome() as usize] += 1;
    }
    let counted: Vec<String> = Outcome::ALL
        .iter()
        .filter(|o| counts[**o as usize] > 0)
        .map(|o| format!("{} {}", counts[*o as usize], o.label()))
        .collect();
    let when = match (group[0].created, group[group.len() - 1].created) {
        (Some(first), Some(last)) => format!(
            "{} {}–{} UTC",
            time::date(time::day_of(first)),
            time::clock(first),
            time::clock(last)
        ),
        _ => "Creation time unknown".to_owned(),
    };
    let noun = if group.len() == 1 { "task" } else { "tasks" };
    let _ = writeln!(
        out,
        "<details class=\"group\"{}><summary><strong>{when}</strong> · {} {noun} \
         <span class=\"counts\">{}</span></summary>\n<div class=\"scroll\">",
        if open { " open" } else { "" },
        group.len(),
        counted.join(" · "),
    );
    axis(out, from, to);
    let _ = writeln!(
        out,
        "<ol class=\"rows\" aria-label=\"Tasks created {}\">",
        esc(&when)
    );
    for task in group {
        row(out, task, from, to, now);
    }
    out.push_str("</ol>\n</div>\n</details>\n");
}

/// The span a group's bars are drawn in: never empty.
fn scale(group: &[&Task], now: Millis) -> (Millis, Millis) {
    let from = group.iter().filter_map(|t| t.created).min().unwrap_or(now);
    let to = group
        .iter()
        .filter_map(|t| t.running(now).or(t.queued(now)).map(|(_, end)| end))
        .max()
        .unwrap_or(from);
    (from, to.max(from + MINUTE))
}

fn axis(out: &mut String, from: Millis, to: Millis) {
    let length = to - from;
    let step = TICK_STEPS
        .iter()
        .copied()
        .find(|step| length / step < MOST_TICKS)
        .unwrap_or_else(|| (length / MOST_TICKS / DAY + 1) * DAY);
    let with_date = length >= DAY || time::day_of(from) != time::day_of(to);
    out.push_str("<div class=\"axis\" aria-hidden=\"true\">");
    let mut tick = (from / step + 1) * step;
    while tick < to {
        let label = if with_date && (step >= DAY || tick % DAY == 0) {
            time::short_date(time::day_of(tick))
        } else if with_date {
            format!(
                "{} {}",
                time::short_date(time::day_of(tick)),
                time::clock(tick)
            )
        } else {
            time::clock(tick)
        };
        let _ = write!(
            out,
            "<span style=\"left:{:.2}%\">{label}</span>",
            percent(tick - from, length)
        );
        tick += step;
    }
    out.push_str("</div>\n");
}

fn percent(part: Millis, whole: Millis) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 100.0).clamp(0.0, 100.0)
    }
}

fn row(out: &mut String, task: &Task, from: Millis, to: Millis, now: Millis) {
    let outcome = task.outcome();
    let unfinished = task.ended.is_none() && task.created.is_some();
    let _ = write!(
        out,
        "<li class=\"{}{}\" data-id=\"{}\" data-state=\"{}\" data-type=\"{}\" data-eecu-seconds=\"{:.3}\" \
         title=\"{}\"><span class=\"label\">{}</span><span class=\"track\">",
        outcome.class(),
        if unfinished { " on" } else { "" },
        esc(&task.id),
        task.state.as_str_name(),
        esc(&task.kind),
        task.eecu_seconds,
        esc(&tooltip(task, now)),
        esc(task.label()),
    );
    let length = to - from;
    let queued = task.queued(now);
    let running = task.running(now);
    for (class, phase) in [("q", queued), ("r", running)] {
        if let Some((start, end)) = phase.filter(|(s, e)| e > s || class == "r") {
            let _ = write!(
                out,
                "<span class=\"{class} fill\" style=\"left:{:.3}%;width:{:.3}%\"></span>",
                percent(start - from, length),
                percent(end - start, length)
            );
        }
    }
    if queued.is_none() && running.is_none() {
        out.push_str("<span class=\"untimed\">no times known</span>");
    }
    let _ = writeln!(
        out,
        "</span><span class=\"sr\">{}</span></li>",
        esc(&spoken(task, now))
    );
}

/// Everything about a task, one fact a line: the row's hover text.
fn tooltip(task: &Task, now: Millis) -> String {
    let mut text = format!(
        "{}\nid {}\ntype {}\nstate {}",
        task.label(),
        task.id,
        if task.kind.is_empty() {
            "-"
        } else {
            &task.kind
        },
        task.state.as_str_name()
    );
    let mut line = |name: &str, at: Option<Millis>| {
        if let Some(at) = at {
            let _ = write!(text, "\n{name} {} UTC", time::date_time(at));
        }
    };
    line("created", task.created);
    line("started", task.started);
    line("ended", task.ended);
    if let Some(wait) = task.queue_wait(now) {
        let _ = write!(text, "\nqueued {}", time::span(wait));
    }
    if let Some(run) = task.run_time(now) {
        let _ = write!(text, "\nran {}", time::span(run));
    }
    let _ = write!(
        text,
        "\nEECU-seconds {:.1}\nattempt {}",
        task.eecu_seconds, task.attempt
    );
    if let Some((code, message)) = &task.error {
        let _ = write!(text, "\nerror {code}: {message}");
    }
    text
}

/// What a screen reader says after the label.
fn spoken(task: &Task, now: Millis) -> String {
    let mut text = format!(", {}", task.outcome().label());
    if let Some(wait) = task.queue_wait(now) {
        let _ = write!(text, ", queued {}", time::span(wait));
    }
    if let Some(run) = task.run_time(now) {
        let _ = write!(text, ", ran {}", time::span(run));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use eeops::earthengine::State;

    fn task(id: usize, created: Option<Millis>) -> Task {
        Task {
            id: format!("T{id:05}"),
            description: String::new(),
            kind: "EXPORT_IMAGE".into(),
            state: State::Succeeded,
            created,
            started: created.map(|c| c + MINUTE),
            ended: created.map(|c| c + 2 * MINUTE),
            eecu_seconds: 1.0,
            attempt: 1,
            error: None,
        }
    }

    #[test]
    fn groups_are_days_cut_into_runs_of_bounded_length() {
        let tasks: Vec<Task> = (0..450)
            .map(|i| task(i, Some(i as Millis * MINUTE)))
            .chain((450..460).map(|i| task(i, Some(DAY + i as Millis))))
            .chain([task(999, None)])
            .collect();
        let order: Vec<&Task> = tasks.iter().collect();
        let sizes: Vec<usize> = split(&order).iter().map(Vec::len).collect();
        assert_eq!(sizes, [200, 200, 50, 10, 1]);
    }

    #[test]
    fn only_the_newest_group_of_a_large_report_is_open() {
        let mut report = Report::new(2 * DAY);
        for i in 0..(ALL_OPEN + 1) {
            report.add(task(i, Some(i as Millis * MINUTE)));
        }
        let mut out = String::new();
        write(&mut out, &report);
        assert_eq!(out.matches("<details class=\"group\"").count(), 2);
        assert_eq!(out.matches("<details class=\"group\" open>").count(), 1);
        assert_eq!(out.matches("<li class=\"ok\"").count(), ALL_OPEN + 1);
    }
}
