//! How operations are shown: a table or a detail block for people, proto3
//! JSON for programs.

use eeops::Metadata;
use eeops::earthengine::{OperationMetadata, State};
use eeops::longrunning::Operation;

/// The width tables fit in: `$COLUMNS` when set, else the terminal's width,
/// else 80 (output to a file or pipe).
pub(crate) fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|columns| columns.trim().parse().ok())
        .or_else(|| terminal_size::terminal_size().map(|(width, _)| usize::from(width.0)))
        .filter(|&columns: &usize| columns >= 40)
        .unwrap_or(80)
}

/// Shortens `text` to `width` characters, marking the cut with `…`.
pub(crate) fn fit(text: &str, width: usize) -> String {
    let single_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if single_line.chars().count() <= width {
        return single_line;
    }
    if width == 0 {
        return String::new();
    }
    let mut cut: String = single_line.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

pub(crate) fn state_label(op: &Operation) -> &'static str {
    op.state().as_str_name()
}

pub(crate) fn progress_label(op: &Operation) -> String {
    match op.earth_engine_metadata() {
        Some(metadata) if op.state() != State::Pending => {
            format!("{:.0}%", metadata.progress_fraction() * 100.0)
        }
        _ => "-".into(),
    }
}

fn error_label(op: &Operation) -> String {
    op.error()
        .map(|error| format!("{}: {}", error.code().as_str_name(), error.message()))
        .unwrap_or_default()
}

/// One row per operation: id, type, state, progress and description, with
/// an operation's error on an indented line of its own so that it can be
/// read whole at 80 columns.
pub(crate) fn table(operations: &[Operation], width: usize) -> String {
    let rows: Vec<[String; 5]> = operations
        .iter()
        .map(|op| {
            let metadata = op.earth_engine_metadata().unwrap_or_default();
            [
                op.id().to_owned(),
                metadata.r#type.clone(),
                state_label(op).to_owned(),
                progress_label(op),
                metadata.description.clone(),
            ]
        })
        .collect();
    let headers = ["ID", "TYPE", "STATE", "PROGRESS", "DESCRIPTION"];
    let natural = |column: usize| {
        rows.iter()
            .map(|row| row[column].chars().count())
            .chain([headers[column].len()])
            .max()
            .unwrap_or(0)
    };
    let id = natural(0).min(40);
    let kind = natural(1).min(16);
    let state = natural(2);
    let progress = natural(3);
    let description = width
        .saturating_sub(id + kind + state + progress + 8)
        .max(11);
    let widths = [id, kind, state, progress, description];
    let mut out = row_line(headers, widths);
    for (op, row) in operations.iter().zip(&rows) {
        out.push_str(&row_line(
            [&row[0], &row[1], &row[2], &row[3], &row[4]],
            widths,
        ));
        let error = error_label(op);
        if !error.is_empty() {
            out.push_str(&format!("  └ {}\n", fit(&error, width.saturating_sub(4))));
        }
    }
    out
}

fn row_line(cells: [&str; 5], [id, kind, state, progress, description]: [usize; 5]) -> String {
    let text = format!(
        "{:<id$}  {:<kind$}  {:<state$}  {:>progress$}  {}",
        fit(cells[0], id),
        fit(cells[1], kind),
        cells[2],
        cells[3],
        fit(cells[4], description),
    );
    format!("{}\n", text.trim_end())
}

fn timestamp(value: Option<prost_types::Timestamp>) -> Option<String> {
    value.map(|t| t.to_string())
}

/// Everything about one operation, one field per line.
pub(crate) fn detail(op: &Operation) -> String {
    let mut fields: Vec<(&str, String)> =
        vec![("name", op.name.clone()), ("id", op.id().to_owned())];
    let mut state = state_label(op).to_owned();
    if let Some(metadata) = op.earth_engine_metadata() {
        let OperationMetadata {
            r#type,
            description,
            priority,
            attempt,
            ..
        } = &metadata;
        if !r#type.is_empty() {
            fields.push(("type", r#type.clone()));
        }
        if !description.is_empty() {
            fields.push(("description", description.clone()));
        }
        if op.state() != State::Pending {
            state = format!("{state} ({})", progress_label(op));
        }
        fields.push(("state", state));
        fields.push(("priority", priority.to_string()));
        for (label, time) in [
            ("created", metadata.create_time),
            ("started", metadata.start_time),
            ("updated", metadata.update_time),
            ("ended", metadata.end_time),
        ] {
            if let Some(time) = timestamp(time) {
                fields.push((label, time));
            }
        }
        if *attempt > 0 {
            fields.push(("attempt", attempt.to_string()));
        }
        if !metadata.stages.is_empty() {
            let stages = metadata
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
        for uri in &metadata.destination_uris {
            fields.push(("destination", uri.clone()));
        }
        if metadata.batch_eecu_usage_seconds > 0.0 {
            fields.push((
                "eecu-seconds",
                format!("{:.1}", metadata.batch_eecu_usage_seconds),
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
            Metadata::Other(any) => fields.push(("metadata", any.type_url)),
            _ => {}
        }
    }
    fields.push(("done", op.done.to_string()));
    let error = error_label(op);
    if !error.is_empty() {
        fields.push(("error", error));
    }
    let label_width = fields
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0)
        + 1;
    let room = terminal_width().saturating_sub(label_width + 1).max(20);
    fields
        .iter()
        .map(|(label, value)| {
            // Long values wrap under themselves, so the block fits the width.
            let chars: Vec<char> = value
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let mut lines = chars
                .chunks(room)
                .map(|chunk| chunk.iter().collect::<String>());
            let first = lines.next().unwrap_or_default();
            let mut text = format!("{:<label_width$} {first}\n", format!("{label}:"));
            for more in lines {
                text.push_str(&format!("{:label_width$} {more}\n", ""));
            }
            text
        })
        .collect()
}

/// Pretty proto3 JSON of one operation.
pub(crate) fn json(op: &Operation) -> String {
    pretty(&eeops::json::operation_to_json(op))
}

/// One operation as compact proto3 JSON, for JSON Lines.
pub(crate) fn json_line(op: &Operation) -> String {
    eeops::json::operation_to_json(op).to_string()
}

/// `MM-DD HH:MM` (UTC) of a timestamp, or `-`.
fn short_time(time: Option<prost_types::Timestamp>) -> String {
    // RFC 3339 from the timestamp: 2026-11-22T12:34:56.789Z.
    time.map(|t| t.to_string())
        .and_then(|text| text.get(5..16).map(|part| part.replace('T', " ")))
        .unwrap_or_else(|| "-".into())
}

/// The `--long` listing: times, EECU-seconds, priority, attempt and
/// destinations as well. When that cannot fit `width`, each operation is
/// shown as a block of lines instead.
pub(crate) fn long_table(operations: &[Operation], width: usize) -> String {
    let headers = [
        "ID",
        "STATE",
        "PROG",
        "CREATED",
        "STARTED",
        "UPDATED",
        "ENDED",
        "EECU",
        "PRI",
        "TRY",
        "TYPE",
        "DESTINATION",
    ];
    let rows: Vec<[String; 12]> = operations
        .iter()
        .map(|op| {
            let m = op.earth_engine_metadata().unwrap_or_default();
            [
                op.id().to_owned(),
                state_label(op).to_owned(),
                progress_label(op),
                short_time(m.create_time),
                short_time(m.start_time),
                short_time(m.update_time),
                short_time(m.end_time),
                format!("{:.1}", m.batch_eecu_usage_seconds),
                m.priority.to_string(),
                m.attempt.to_string(),
                m.r#type.clone(),
                m.destination_uris.join(" "),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .chain([headers[column].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let fixed: usize = widths[..11].iter().sum::<usize>() + 2 * 11;
    if fixed + 12 > width {
        let blocks: Vec<String> = operations.iter().map(detail).collect();
        return blocks.join("\n");
    }
    let last = width - fixed;
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (column, cell) in cells.iter().enumerate() {
            if column == 11 {
                text.push_str(&fit(cell, last));
            } else {
                let pad = widths[column];
                let aligned = if matches!(column, 2 | 7 | 8 | 9) {
                    format!("{cell:>pad$}")
                } else {
                    format!("{cell:<pad$}")
                };
                text.push_str(&aligned);
                text.push_str("  ");
            }
        }
        format!("{}\n", text.trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Pretty proto3 JSON of a list of operations, as an array.
pub(crate) fn json_array(operations: &[Operation]) -> String {
    pretty(&serde_json::Value::Array(
        operations
            .iter()
            .map(eeops::json::operation_to_json)
            .collect(),
    ))
}

pub(crate) fn pretty(value: &serde_json::Value) -> String {
    // Serialising a JSON value to a string cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_with_an_ellipsis_and_flattens_control_characters() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab");
        assert_eq!(fit("a\nb", 4), "a b");
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
        let rendered = table(std::slice::from_ref(&op), 80);
        assert!(rendered.contains("batch/2024/item-7"), "{rendered}");
        assert!(rendered.contains("RUNNING"), "{rendered}");
        let details = detail(&op);
        assert!(
            details.contains("metadata: type.googleapis.com/google.protobuf.Struct"),
            "{details}"
        );
    }

    #[test]
    fn table_lines_fit_the_width() {
        let op = Operation {
            name: "projects/p/operations/ABCDEFGHIJKLMNOPQRSTUVWX".into(),
            done: true,
            result: Some(eeops::longrunning::operation::Result::Error(
                eeops::rpc::Status {
                    code: 3,
                    message: "a very long error message that goes on and on and on".into(),
                    details: vec![],
                },
            )),
            ..Default::default()
        };
        let rendered = table(&[op.clone(), op], 80);
        for line in rendered.lines() {
            assert!(
                line.chars().count() <= 80,
                "{line:?} is {} wide",
                line.chars().count()
            );
        }
        assert!(rendered.contains("FAILED"));
        assert!(rendered.contains("└ INVALID_ARGUMENT: a very long error message"));
    }
}
