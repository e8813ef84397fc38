//! `list`'s output, written while the listing goes on: each page is
//! printed as it arrives, so memory does not grow with the number of
//! operations.
//!
//! Every format prints a sequence of [`Row`]s, each operation reduced to
//! what its format shows (a rendered line or JSON element, or a table
//! row's cells). A listing in the server's order hands each page's rows to
//! the [`Printer`] at once; a sorted or reversed listing keeps the rows
//! (with the values they are sorted on, never the operations) and hands
//! them over at the end.
//!
//! - `json` is one array: `[` comes with the first operation, `,` before
//!   each one after it, `]` at the end; a listing that fails part way
//!   leaves the array open, so that no program takes a partial listing for
//!   a whole one.
//! - `table` is laid out for the first page (a thousand operations unless
//!   `--page-size` or `--limit` say fewer); later rows keep those widths,
//!   a longer value printed whole off a terminal and cut on one.
//! - `jsonl`, `csv` (header first) and `tsv` are a line per operation.

use eeops::longrunning::Operation;

use super::args::Format;
use super::output::{self, View};
use super::screen::Screen;
use super::table::{self, Layout, LongLayout, LongRow};

/// One operation as its format prints it.
#[derive(Clone, Debug)]
pub(crate) enum Row {
    /// A whole line, or a JSON array element (pretty, indented as one).
    Text(String),
    /// A `list` table row's cells.
    Table(table::Row),
    /// A `list --long` row's cells.
    Long(LongRow),
}

/// The table layout, fixed by the first rows printed.
#[derive(Clone, Debug)]
enum Laid {
    List(Layout),
    Long(LongLayout),
}

/// Turns rows into text in one format, remembering what was printed before
/// (the header, the array's opening, the table's widths).
#[derive(Debug)]
pub(crate) struct Printer {
    format: Format,
    view: View,
    screen: Screen,
    /// Operations printed so far.
    printed: u64,
    /// Whether anything (a CSV header included) has been printed.
    started: bool,
    laid: Option<Laid>,
}

impl Printer {
    /// A printer of `list` output; `view` is [`View::List`] or [`View::Long`].
    pub(crate) fn new(format: Format, view: View, screen: Screen) -> Self {
        Self {
            format,
            view,
            screen,
            printed: 0,
            started: false,
            laid: None,
        }
    }

    /// How many operations have been printed.
    pub(crate) fn printed(&self) -> u64 {
        self.printed
    }

    /// `operation` reduced to what this format prints of it.
    pub(crate) fn row(&self, operation: &Operation) -> Row {
        match (self.format, self.view) {
            (Format::Json, _) => Row::Text(indented_element(&output::json(operation))),
            (Format::Jsonl, _) => Row::Text(output::json_line(operation)),
            (Format::Tsv, _) => Row::Text(output::tsv_line(operation)),
            (Format::Csv, _) => Row::Text(output::csv_line(operation)),
            (Format::Table, View::Long) => Row::Long(LongRow::of(operation, self.screen)),
            (Format::Table, _) => Row::Table(table::Row::of(operation)),
        }
    }

    /// The text of `rows`, with whatever must come before them.
    pub(crate) fn rows(&mut self, rows: &[Row]) -> String {
        let mut out = String::new();
        if !self.started && self.format == Format::Csv {
            out.push_str(&output::csv_header());
            out.push('\n');
            self.started = true;
        }
        if rows.is_empty() {
            return out;
        }
        if self.printed == 0 && self.format == Format::Table {
            self.lay_out_for(rows);
            if let Some(laid) = &self.laid {
                out.push_str(&match laid {
                    Laid::List(layout) => layout.header(),
                    Laid::Long(layout) => layout.header(self.screen),
                });
            }
        }
        for row in rows {
            match (row, &self.laid) {
                (Row::Text(text), _) => {
                    if self.format == Format::Json {
                        out.push_str(if self.printed == 0 { "[\n" } else { ",\n" });
                        out.push_str(text);
                    } else {
                        out.push_str(text);
                        out.push('\n');
                    }
                }
                (Row::Table(row), Some(Laid::List(layout))) => {
                    out.push_str(&layout.row(row, self.screen));
                }
                (Row::Long(row), Some(Laid::Long(layout))) => {
                    out.push_str(&layout.row(row, self.screen));
                }
                // Rows are made by this printer, for its own format.
                (Row::Table(_) | Row::Long(_), _) => continue,
            }
            self.printed += 1;
        }
        self.started = true;
        out
    }

    /// What ends the output: the JSON array's close (or `[]` when empty).
    pub(crate) fn end(&mut self) -> String {
        let out = match self.format {
            Format::Json if self.printed == 0 => "[]\n".to_owned(),
            Format::Json => "\n]\n".to_owned(),
            Format::Csv if !self.started => format!("{}\n", output::csv_header()),
            _ => String::new(),
        };
        self.started = true;
        out
    }

    /// Lays a table out for `rows`, unless it already is: the rows a
    /// table is laid out for are the first it prints (a whole sorted
    /// listing, or the first page of one in the server's order).
    pub(crate) fn lay_out_for(&mut self, rows: &[Row]) {
        if self.laid.is_none() && self.format == Format::Table && !rows.is_empty() {
            self.laid = Some(self.lay_out(rows));
        }
    }

    fn lay_out(&self, rows: &[Row]) -> Laid {
        match self.view {
            View::Long => {
                let rows: Vec<LongRow> = rows
                    .iter()
                    .filter_map(|row| match row {
                        Row::Long(row) => Some(row.clone()),
                        _ => None,
                    })
                    .collect();
                Laid::Long(LongLayout::of(&rows, self.screen))
            }
            View::List | View::Detail => {
                let rows: Vec<table::Row> = rows
                    .iter()
                    .filter_map(|row| match row {
                        Row::Table(row) => Some(row.clone()),
                        _ => None,
                    })
                    .collect();
                Laid::List(Layout::of(&rows, self.screen))
            }
        }
    }
}

/// A pretty JSON value as an element of a pretty array: every line two
/// spaces further in (JSON strings hold no line breaks).
fn indented_element(pretty: &str) -> String {
    let mut out = String::with_capacity(pretty.len() + pretty.len() / 8);
    for (i, line) in pretty.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("  ");
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: &str) -> Operation {
        Operation {
            name: format!("projects/p/operations/{id}"),
            done: id.ends_with('F'),
            result: id.ends_with('F').then(|| {
                eeops::longrunning::operation::Result::Error(eeops::rpc::Status {
                    code: 3,
                    message: "bad band".into(),
                    details: vec![],
                })
            }),
            ..Default::default()
        }
    }

    /// Everything the printer writes for `pages`, page after page.
    fn printed(format: Format, view: View, pages: &[&[Operation]]) -> String {
        let mut printer = Printer::new(format, view, Screen::PLAIN);
        let mut out = String::new();
        for page in pages {
            let rows: Vec<Row> = page.iter().map(|op| printer.row(op)).collect();
            out.push_str(&printer.rows(&rows));
        }
        out.push_str(&printer.end());
        out
    }

    #[test]
    fn pages_print_what_the_whole_list_prints() {
        let ops = [op("A"), op("BF"), op("C")];
        for format in [Format::Json, Format::Jsonl, Format::Csv, Format::Tsv] {
            let whole = format!(
                "{}\n",
                output::render(format, View::List, Screen::PLAIN, &ops)
            );
            let paged = printed(format, View::List, &[&ops[..1], &[], &ops[1..]]);
            assert_eq!(paged, whole, "{format:?}");
        }
        let whole = table::table(&ops, Screen::PLAIN);
        assert_eq!(printed(Format::Table, View::List, &[&ops[..]]), whole);
        let long = table::long_table(&ops, Screen::PLAIN);
        assert_eq!(printed(Format::Table, View::Long, &[&ops[..]]), long);
        let json: serde_json::Value =
            serde_json::from_str(&printed(Format::Json, View::List, &[&ops[..2], &ops[2..]]))
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(json.as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn empty_listings() {
        assert_eq!(printed(Format::Json, View::List, &[&[]]), "[]\n");
        assert_eq!(
            printed(Format::Csv, View::List, &[]),
            format!("{}\n", output::csv_header())
        );
        for format in [Format::Jsonl, Format::Tsv, Format::Table] {
            assert_eq!(printed(format, View::List, &[&[], &[]]), "", "{format:?}");
        }
    }

    #[test]
    fn later_pages_keep_the_first_pages_widths() {
        let first = [op("SHORT")];
        let later = [op("AMUCHLONGERTASKIDENTIFIER")];
        let text = printed(Format::Table, View::List, &[&first, &later]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        // The header once, the longer id whole after it.
        assert!(lines[0].starts_with("ID     STATE"), "{text}");
        assert!(
            lines[2].starts_with("AMUCHLONGERTASKIDENTIFIER  RUNNING"),
            "{text}"
        );
    }
}
