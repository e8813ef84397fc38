//! `info`: everything about one operation, one field per line, long values
//! wrapped at word boundaries under themselves.

use eeops::Metadata;
use eeops::earthengine::State;
use eeops::longrunning::Operation;

use super::human;
use super::screen::Screen;
use super::table::eecu_hours;
use super::task::{Task, rfc3339};
use super::text::{self, pad_right, wrap};

/// The block of lines for one operation.
pub(crate) fn detail(op: &Operation, screen: Screen) -> String {
    let task = Task::new(op);
    let mut fields: Vec<(&str, String)> =
        vec![("name", op.name.clone()), ("id", task.id().to_owned())];
    let mut state = task.state_name().to_owned();
    if op.earth_engine_metadata().is_some() {
        let meta = &task.meta;
        if !meta.r#type.is_empty() {
            fields.push(("type", meta.r#type.clone()));
        }
        if !meta.description.is_empty() {
            fields.push(("description", meta.description.clone()));
        }
        if task.state() != State::Pending {
            state = format!("{state} ({})", task.progress());
        }
        fields.push(("state", state));
        fields.push(("priority", meta.priority.to_string()));
        for (label, time, at) in [
            ("created", meta.create_time, task.created()),
            ("started", meta.start_time, meta.started_at()),
            ("updated", meta.update_time, task.updated()),
            ("ended", meta.end_time, meta.ended_at()),
        ] {
            if time.is_some() {
                fields.push((label, format!("{} ({} ago)", rfc3339(time), human::ago(at))));
            }
        }
        if let Some(queued) = task.queue_time().filter(|_| meta.start_time.is_some()) {
            fields.push(("queued", human::span(queued)));
        }
        if let Some(ran) = task.run_time() {
            fields.push(("ran", human::span(ran)));
        }
        if meta.attempt > 0 {
            fields.push(("attempt", meta.attempt.to_string()));
        }
        if !meta.stages.is_empty() {
            let stages = meta
                .stages
                .iter()
                .map(|s| {
                    format!(
                        "{} {}/{}",
                        s.display_name, s.complete_work_units, s.total_work_units
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            fields.push(("stages", stages));
        }
        for uri in task.destinations() {
            fields.push(("destination", uri.clone()));
        }
        if task.eecu_seconds() > 0.0 {
            fields.push((
                "eecu",
                format!(
                    "{:.1} EECU-seconds ({} EECU-hours)",
                    task.eecu_seconds(),
                    eecu_hours(task.eecu_seconds())
                ),
            ));
        }
    } else {
        fields.push(("state", state));
        match op.decoded_metadata() {
            Metadata::Undecodable(any) => {
                fields.push(("metadata", any.type_url));
                fields.push((
                    "note",
                    "metadata not decodable from this server over gRPC; -v says why".into(),
                ));
            }
            Metadata::Other(any) | Metadata::Json(any) => fields.push(("metadata", any.type_url)),
            _ => {}
        }
    }
    fields.push(("done", op.done.to_string()));
    if let Some(error) = task.error() {
        fields.push(("error", error));
    }
    let label_width = fields
        .iter()
        .map(|(label, _)| label.len() + 1)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, value) in &fields {
        let lines = match screen.width {
            Some(total) => wrap(value, total.saturating_sub(label_width + 1).max(20)),
            None => vec![text::one_line(value)],
        };
        for (i, part) in lines.iter().enumerate() {
            let head = if i == 0 {
                let padded = pad_right(&format!("{label}:"), label_width);
                if *label == "state" {
                    screen.state(task.state(), &padded)
                } else {
                    padded
                }
            } else {
                " ".repeat(label_width)
            };
            out.push_str(&format!("{head} {part}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_wrap_between_words() {
        let op = Operation {
            name: "projects/p/operations/ABC".into(),
            done: true,
            result: Some(eeops::longrunning::operation::Result::Error(
                eeops::rpc::Status {
                    code: 8,
                    message:
                        "Too many concurrent exports (max: 10000) for this project, retry later"
                            .into(),
                    details: vec![],
                },
            )),
            ..Default::default()
        };
        let screen = Screen {
            width: Some(40),
            color: false,
        };
        let block = detail(&op, screen);
        for line in block.lines() {
            assert!(text::width(line) <= 40, "{line:?}");
        }
        let tokens: Vec<&str> = block.split_whitespace().collect();
        for word in
            "Too many concurrent exports (max: 10000) for this project, retry later".split(' ')
        {
            assert!(tokens.contains(&word), "{word:?} cut in\n{block}");
        }
    }
}
