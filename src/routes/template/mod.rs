//! google.api.http path templates: `parse` reads one, `expand` builds a
//! client's path from it, `matching` (compiled with the emulator) takes a
//! server's request path apart; the property tests and the fuzz targets
//! check expansions against `oracle`, written apart from `expand`.
//!
//! The grammar is the one in `google/api/http.proto`:
//!
//! ```text
//! Template  = "/" Segments [ Verb ] ;
//! Segments  = Segment { "/" Segment } ;
//! Segment   = "*" | "**" | LITERAL | Variable ;
//! Variable  = "{" FieldPath [ "=" Segments ] "}" ;
//! FieldPath = IDENT { "." IDENT } ;
//! Verb      = ":" LITERAL ;
//! ```
//!
//! Two policies go beyond the text of http.proto, both so that a path cannot
//! be silently retargeted by an HTTP stack on the way: `*` and `**` only match
//! non-empty segments, and `.` / `..` segments are refused on both sides.

use std::fmt;
use std::ops::Range;

mod expand;
#[cfg(any(feature = "emulator", test, fuzzing))]
mod matching;
#[cfg(any(test, fuzzing))]
pub(crate) mod oracle;
mod parse;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

/// A parsed path template such as `/v1/{name=projects/*/operations/**}:cancel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PathTemplate {
    /// The template as written.
    text: String,
    /// Every path segment, with each variable's pattern inlined where the
    /// variable stands, so that matching is one pass over one list.
    segments: Vec<Segment>,
    /// The variables in order, each covering a range of `segments`.
    variables: Vec<Variable>,
    /// The custom verb, without its leading `:`.
    verb: Option<String>,
}

/// One segment of a template path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// Text that must appear as written.
    Literal(String),
    /// `*`: exactly one non-empty segment.
    Star,
    /// `**`: zero or more non-empty segments (always the last segment).
    DoubleStar,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Literal(literal) => f.write_str(literal),
            Segment::Star => f.write_str("*"),
            Segment::DoubleStar => f.write_str("**"),
        }
    }
}

/// Displays a run of segments joined with `/`, as they appear in a template.
struct Pattern<'a>(&'a [Segment]);

impl fmt::Display for Pattern<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, segment) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("/")?;
            }
            write!(f, "{segment}")?;
        }
        Ok(())
    }
}

/// A `{field.path=pattern}` variable.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Variable {
    /// The request field it binds, e.g. `name` or `nested.label`.
    field_path: String,
    /// Which of the template's segments form its pattern.
    range: Range<usize>,
    /// True when the pattern is one `*` or one literal: the value is then a
    /// single segment and a `/` inside it is encoded as `%2F`.
    single: bool,
}

/// Why a template or a value was refused; Display gives a clear message that
/// names the template (and the value, for expansion errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TemplateError {
    /// The complete, human-readable message.
    message: String,
}

impl TemplateError {
    /// A template that does not follow the grammar.
    fn invalid(template: &str, reason: impl fmt::Display) -> Self {
        Self {
            message: format!("invalid path template {template:?}: {reason}"),
        }
    }

    /// A variable's value that cannot be placed in the template.
    fn mismatch(template: &str, value: &str, reason: impl fmt::Display) -> Self {
        Self {
            message: format!("{value:?} does not match {template}: {reason}"),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateError {}

impl PathTemplate {
    /// The template as it was written.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether one of the variables is bound to `field_path`.
    pub(crate) fn has_variable(&self, field_path: &str) -> bool {
        self.variables
            .iter()
            .any(|variable| variable.field_path == field_path)
    }

    /// The variables' field paths, in order, e.g. `["name"]`.
    pub(crate) fn variables(&self) -> Vec<&str> {
        self.variables
            .iter()
            .map(|variable| variable.field_path.as_str())
            .collect()
    }

    /// The custom verb (`cancel` in `...:cancel`), if any.
    #[cfg(test)]
    pub(crate) fn verb(&self) -> Option<&str> {
        self.verb.as_deref()
    }
}

/// Walks `pieces` (a value's pieces, or a raw path's segments) along
/// `pattern`, handing `each` every piece with the index of the segment that
/// takes it. A literal takes only itself, a wildcard any non-empty piece,
/// and `**` (always last: the parser sees to it) every piece left. False
/// at the first piece that does not fit, or when segments are left over
/// that are not a `**` taking nothing. The one rule for what a pattern
/// matches, on the client and in the emulator.
fn walk<'p>(
    pattern: &[Segment],
    pieces: impl Iterator<Item = &'p str>,
    mut each: impl FnMut(usize, &'p str),
) -> bool {
    let mut index = 0;
    for piece in pieces {
        let Some(segment) = pattern.get(index) else {
            return false;
        };
        let fits = match segment {
            Segment::Literal(literal) => piece == literal,
            Segment::Star | Segment::DoubleStar => !piece.is_empty(),
        };
        if !fits {
            return false;
        }
        each(index, piece);
        if !matches!(segment, Segment::DoubleStar) {
            index += 1;
        }
    }
    pattern
        .get(index..)
        .unwrap_or_default()
        .iter()
        .all(|segment| matches!(segment, Segment::DoubleStar))
}

/// Refuses value pieces that would vanish or be rewritten by dot-segment
/// removal in an HTTP stack.
fn check_piece(piece: &str) -> Result<(), String> {
    match piece {
        "" => Err("empty segments are not allowed".to_owned()),
        "." | ".." => Err(format!("{piece:?} segments are not allowed")),
        _ => Ok(()),
    }
}
