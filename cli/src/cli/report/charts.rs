//! Bars: EECU-hours per day and per task type, and tasks finished per day by
//! outcome. Each chart has its numbers as a table beside it, for screen
//! readers and for anyone who wants the figures.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::escape::esc;
use super::model::{Outcome, Report};
use super::time;

/// The most day labels under a chart; others are left out.
const MOST_X_LABELS: usize = 12;

pub(crate) fn write(out: &mut String, report: &Report) {
    out.push_str("<section id=\"usage\">\n<h2>EECU-hours</h2>\n<div class=\"charts\">\n");
    eecu_per_day(out, report);
    eecu_per_type(out, report);
    out.push_str(
        "</div>\n</section>\n<section id=\"finished\">\n<h2>Tasks finished per day</h2>\n",
    );
    finished_per_day(out, report);
    out.push_str("</section>\n");
}

/// Every day from the first to the last key, gaps included, so that the
/// bars keep time.
fn days<V>(map: &BTreeMap<i64, V>) -> Vec<i64> {
    match (map.keys().next(), map.keys().next_back()) {
        (Some(&first), Some(&last)) => (first..=last).collect(),
        _ => Vec::new(),
    }
}

fn hours(seconds: f64) -> String {
    format!("{:.2}", seconds / 3600.0)
}

fn eecu_per_day(out: &mut String, report: &Report) {
    let mut per_day: BTreeMap<i64, f64> = BTreeMap::new();
    let mut kinds: Vec<&str> = Vec::new();
    for ((day, kind), seconds) in &report.eecu_by_day {
        *per_day.entry(*day).or_default() += seconds;
        if !kinds.contains(&kind.as_str()) {
            kinds.push(kind);
        }
    }
    kinds.sort_unstable();
    out.push_str("<figure id=\"eecu-per-day\"><figcaption>EECU-hours per day (UTC)</figcaption>\n");
    let days = days(&per_day);
    if days.is_empty() {
        out.push_str("<p class=\"empty\">No EECU time was reported.</p></figure>\n");
        return;
    }
    let most = per_day.values().copied().fold(0.0, f64::max);
    let columns: Vec<Vec<(&str, f64, String)>> = days
        .iter()
        .map(|day| {
            let value = per_day.get(day).copied().unwrap_or(0.0);
            vec![(
                "eecu",
                value,
                format!("{}: {} EECU-hours", time::date(*day), hours(value)),
            )]
        })
        .collect();
    bars(
        out,
        &days,
        &columns,
        most,
        &format!("{} EECU-hours", hours(most)),
    );
    out.push_str("<details class=\"alt\"><summary>The numbers, by type</summary><table><thead><tr><th>Day</th>");
    for kind in &kinds {
        let _ = write!(out, "<th class=\"n\">{}</th>", esc(kind));
    }
    out.push_str("<th class=\"n\">All</th></tr></thead><tbody>\n");
    for day in &days {
        let _ = write!(out, "<tr><td>{}</td>", time::date(*day));
        for kind in &kinds {
            let value = report
                .eecu_by_day
                .get(&(*day, (*kind).to_owned()))
                .copied()
                .unwrap_or(0.0);
            let _ = write!(out, "<td class=\"n\">{}</td>", hours(value));
        }
        let _ = writeln!(
            out,
            "<td class=\"n\">{}</td></tr>",
            hours(per_day.get(day).copied().unwrap_or(0.0))
        );
    }
    out.push_str("</tbody></table></details>\n</figure>\n");
}

fn eecu_per_type(out: &mut String, report: &Report) {
    let mut per_kind: BTreeMap<&str, f64> = BTreeMap::new();
    for ((_, kind), seconds) in &report.eecu_by_day {
        *per_kind.entry(kind).or_default() += seconds;
    }
    out.push_str(
        "<figure id=\"eecu-per-type\"><figcaption>EECU-hours per task type</figcaption>\n",
    );
    if per_kind.is_empty() {
        out.push_str("<p class=\"empty\">No EECU time was reported.</p></figure>\n");
        return;
    }
    let mut ranked: Vec<(&str, f64)> = per_kind.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let most = ranked[0].1;
    out.push_str("<ul class=\"hbars\">\n");
    for (kind, seconds) in ranked {
        let width = if most > 0.0 {
            seconds / most * 100.0
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "<li data-type=\"{kind}\" data-eecu-seconds=\"{seconds:.3}\"><span class=\"k\">{kind}</span>\
             <span class=\"bar\"><span class=\"eecu\" style=\"width:{width:.2}%\"></span></span>\
             <span class=\"v\">{} h</span></li>",
            hours(seconds),
            kind = esc(if kind.is_empty() { "(no type)" } else { kind }),
        );
    }
    out.push_str("</ul>\n</figure>\n");
}

fn finished_per_day(out: &mut String, report: &Report) {
    out.push_str(
        "<figure id=\"finished-per-day\"><figcaption>Tasks that ended each day (UTC), by outcome\
         </figcaption>\n<ul class=\"legend\" aria-hidden=\"true\">",
    );
    let outcomes = &Outcome::ALL[..3];
    for outcome in outcomes {
        let _ = write!(
            out,
            "<li><span class=\"tag fill {}\"></span>{}</li>",
            outcome.class(),
            outcome.label()
        );
    }
    out.push_str("</ul>\n");
    let finished = &report.finished_by_day;
    let days = days(finished);
    if days.is_empty() {
        out.push_str("<p class=\"empty\">No task has finished.</p></figure>\n");
        return;
    }
    let most = finished
        .values()
        .map(|counts| counts.iter().sum::<usize>())
        .max()
        .unwrap_or(0);
    let columns: Vec<Vec<(&str, f64, String)>> = days
        .iter()
        .map(|day| {
            let counts = finished.get(day).copied().unwrap_or_default();
            outcomes
                .iter()
                .zip(counts)
                .map(|(outcome, count)| {
                    (
                        outcome.class(),
                        count as f64,
                        format!("{}: {count} {}", time::date(*day), outcome.label()),
                    )
                })
                .collect()
        })
        .collect();
    let noun = if most == 1 { "task" } else { "tasks" };
    bars(out, &days, &columns, most as f64, &format!("{most} {noun}"));
    out.push_str(
        "<details class=\"alt\"><summary>The numbers</summary><table><thead><tr><th>Day</th>\
         <th class=\"n\">Succeeded</th><th class=\"n\">Failed</th><th class=\"n\">Cancelled</th>\
         </tr></thead><tbody>\n",
    );
    for day in &days {
        let [ok, failed, cancelled] = finished.get(day).copied().unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr data-day=\"{0}\"><td>{0}</td><td class=\"n\">{ok}</td><td class=\"n\">{failed}</td>\
             <td class=\"n\">{cancelled}</td></tr>",
            time::date(*day)
        );
    }
    out.push_str("</tbody></table></details>\n</figure>\n");
}

/// Columns of stacked segments, one column a day, scaled so that `most`
/// fills the height. Each segment is (class, value, hover text).
fn bars(
    out: &mut String,
    days: &[i64],
    columns: &[Vec<(&str, f64, String)>],
    most: f64,
    top_label: &str,
) {
    let _ = writeln!(
        out,
        "<div class=\"ymax\" aria-hidden=\"true\">{}</div>\
         <div class=\"columns\" role=\"img\" aria-label=\"Bar chart, one bar a day from {} to {}; \
         the numbers are in the table below\">",
        esc(top_label),
        time::date(days[0]),
        time::date(days[days.len() - 1]),
    );
    for segments in columns {
        let title: Vec<&str> = segments.iter().map(|s| s.2.as_str()).collect();
        let _ = write!(
            out,
            "<div class=\"col\" title=\"{}\">",
            esc(&title.join("\n"))
        );
        for (class, value, _) in segments {
            if *value > 0.0 && most > 0.0 {
                let _ = write!(
                    out,
                    "<span class=\"fill {class}\" style=\"height:{:.2}%\"></span>",
                    value / most * 100.0
                );
            }
        }
        out.push_str("</div>");
    }
    out.push_str("</div>\n<div class=\"xlabels\" aria-hidden=\"true\">");
    let every = days.len().div_ceil(MOST_X_LABELS).max(1);
    for (index, day) in days.iter().enumerate() {
        if index % every == 0 {
            let _ = write!(out, "<span>{}</span>", time::short_date(*day));
        } else {
            out.push_str("<span></span>");
        }
    }
    out.push_str("</div>\n");
}
