//! Operations in each output format: tables and detail blocks for people,
//! tab- or comma-separated lines for grep, cut and awk, proto3 JSON for
//! programs.

use eeops::json::OperationJson;
use eeops::longrunning::Operation;

use super::args::Format;
use super::detail::detail;
use super::screen::Screen;
use super::table;
use super::task::{Task, rfc3339};
use super::text::one_line;

/// How a table shows operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    /// One line per task.
    List,
    /// `--long`: times, EECU, result.
    Long,
    /// Everything, a block per task (`info`, `get`).
    Detail,
}

/// The columns of the delimited formats, in order.
pub(crate) const COLUMNS: [&str; 10] = [
    "id",
    "state",
    "progress",
    "type",
    "created",
    "updated",
    "eecu_seconds",
    "description",
    "error",
    "name",
];

/// The delimited formats' values of one operation, whole and on one line.
fn values(op: &Operation) -> [String; 10] {
    let task = Task::new(op);
    [
        task.id().to_owned(),
        task.state_name().to_owned(),
        task.progress(),
        task.kind().to_owned(),
        rfc3339(task.meta.create_time),
        rfc3339(task.meta.update_time),
        if task.eecu_seconds() > 0.0 {
            format!("{}", task.eecu_seconds())
        } else {
            String::new()
        },
        one_line(task.description()),
        task.error().map(|e| one_line(&e)).unwrap_or_default(),
        op.name.clone(),
    ]
}

/// One operation as a tab-separated line (no header: what piping gives).
pub(crate) fn tsv_line(op: &Operation) -> String {
    values(op).join("\t")
}

/// A CSV field, quoted when it must be (RFC 4180).
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// The CSV header line.
pub(crate) fn csv_header() -> String {
    COLUMNS.join(",")
}

/// One operation as a CSV line.
pub(crate) fn csv_line(op: &Operation) -> String {
    values(op)
        .iter()
        .map(|v| csv_field(v))
        .collect::<Vec<_>>()
        .join(",")
}

/// Operations in `format`, ready to print (without a trailing newline).
pub(crate) fn render(format: Format, view: View, screen: Screen, ops: &[Operation]) -> String {
    let text = match format {
        Format::Json => json_array(ops),
        Format::Jsonl => lines(ops, json_line),
        Format::Tsv => lines(ops, tsv_line),
        Format::Csv => {
            let mut out = csv_header();
            out.push('\n');
            out.push_str(&lines(ops, csv_line));
            out
        }
        Format::Table => match view {
            View::List => table::table(ops, screen),
            View::Long => table::long_table(ops, screen),
            View::Detail => ops
                .iter()
                .map(|op| detail(op, screen))
                .collect::<Vec<_>>()
                .join("\n"),
        },
    };
    text.trim_end().to_owned()
}

fn lines(ops: &[Operation], line: fn(&Operation) -> String) -> String {
    ops.iter().map(line).collect::<Vec<_>>().join("\n")
}

/// Pretty proto3 JSON of one operation, written straight from its type.
pub(crate) fn json(op: &Operation) -> String {
    // Writing an operation to a string cannot fail.
    serde_json::to_string_pretty(&OperationJson(op)).unwrap_or_default()
}

/// One operation as compact proto3 JSON, for JSON Lines.
pub(crate) fn json_line(op: &Operation) -> String {
    serde_json::to_string(&OperationJson(op)).unwrap_or_default()
}

/// Pretty proto3 JSON of a list of operations, as an array.
pub(crate) fn json_array(operations: &[Operation]) -> String {
    let all: Vec<OperationJson> = operations.iter().map(OperationJson).collect();
    serde_json::to_string_pretty(&all).unwrap_or_default()
}

pub(crate) fn pretty(value: &serde_json::Value) -> String {
    // Serialising a JSON value to a string cannot fail.
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimited_values_stay_on_one_line_and_csv_quotes() {
        let op = Operation {
            name: "projects/p/operations/X".into(),
            done: true,
            result: Some(eeops::longrunning::operation::Result::Error(
                eeops::rpc::Status {
                    code: 3,
                    message: "bad\tband, \"B4\"\nsee docs".into(),
                    details: vec![],
                },
            )),
            ..Default::default()
        };
        let tsv = tsv_line(&op);
        assert_eq!(tsv.split('\t').count(), COLUMNS.len(), "{tsv:?}");
        assert!(!tsv.contains('\n'));
        let csv = csv_line(&op);
        assert!(
            csv.contains("\"INVALID_ARGUMENT: bad band, \"\"B4\"\" see docs\""),
            "{csv}"
        );
    }
}
