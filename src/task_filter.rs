//! Which operations a listing keeps, decided on the client from each
//! operation's own metadata.
//!
//! Earth Engine documents no filter grammar for `projects.operations.list`,
//! so a server may reject a filter, ignore it or read it differently. A
//! [`TaskFilter`] looks at every operation that comes back instead, so its
//! result is the same whatever the server does: set it on a listing with
//! [`ListOperations::with_task_filter`](crate::ListOperations::with_task_filter),
//! or call [`TaskFilter::matches`] yourself.
//!
//! ```
//! use eeops::TaskFilter;
//! use eeops::earthengine::State;
//! use eeops::task_filter::{parse_state, parse_task_type};
//! use std::time::{Duration, SystemTime};
//!
//! # fn main() -> eeops::Result<()> {
//! let filter = TaskFilter::new()
//!     .with_states([parse_state("running")?, State::Pending])
//!     .with_types(parse_task_type("Export.image")?.iter().copied())
//!     .with_created_since(SystemTime::now() - Duration::from_secs(3600))
//!     .with_description("nightly-*");
//! assert!(!filter.is_empty());
//! # Ok(()) }
//! ```

use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::operation::state_of;
use crate::proto::earthengine::State;
use crate::proto::longrunning::Operation;
use crate::proto::rpc::Code;

/// Earth Engine's task types: the API's value, then the name the
/// `earthengine` command-line tool prints for it.
const TASK_TYPES: [(&str, &str); 8] = [
    ("EXPORT_IMAGE", "Export.image"),
    ("EXPORT_FEATURES", "Export.table"),
    ("EXPORT_VIDEO", "Export.video"),
    ("EXPORT_TILES", "Export.map"),
    ("EXPORT_CLASSIFIER", "Export.classifier"),
    ("INGEST_IMAGE", "Upload"),
    ("INGEST_TABLE", "Upload"),
    ("INGEST", "Upload"),
];

/// Other spellings of one API value: the Python client's `Task.Type` member
/// names where they differ from the value they hold.
const TYPE_ALIASES: [(&str, &str); 2] = [
    ("EXPORT_TABLE", "EXPORT_FEATURES"),
    ("EXPORT_MAP", "EXPORT_TILES"),
];

/// A task state by its name in any case: the same as
/// `name.parse::<State>()`, which accepts PENDING, RUNNING, CANCELLING, SUCCEEDED, CANCELLED, FAILED,
/// or the older READY, COMPLETED and CANCEL_REQUESTED. An unknown name is
/// INVALID_ARGUMENT listing the known ones.
pub fn parse_state(name: &str) -> Result<State> {
    name.parse()
}

/// The API values (`metadata.type`) a task type name stands for. Accepted,
/// in any case: the API's values (`EXPORT_IMAGE`, `export_image`), the names
/// the `earthengine` tool prints (`Export.image`, `Export.table`,
/// `Export.video`, `Export.map`, `Upload` — which covers every ingestion
/// type) and the Python client's `Task.Type` names (`EXPORT_TABLE`,
/// `EXPORT_MAP`). An unknown name is INVALID_ARGUMENT listing the known ones.
pub fn parse_task_type(name: &str) -> Result<Vec<&'static str>> {
    let wanted = name.trim();
    let by_value = TASK_TYPES
        .iter()
        .map(|(value, _)| *value)
        .chain(TYPE_ALIASES.iter().map(|(alias, _)| *alias))
        .find(|value| value.eq_ignore_ascii_case(wanted))
        .map(|value| {
            TYPE_ALIASES
                .iter()
                .find(|(alias, _)| *alias == value)
                .map_or(value, |(_, target)| *target)
        });
    if let Some(value) = by_value {
        return Ok(vec![value]);
    }
    let by_label: Vec<&'static str> = TASK_TYPES
        .iter()
        .filter(|(_, label)| label.eq_ignore_ascii_case(wanted))
        .map(|(value, _)| *value)
        .collect();
    if !by_label.is_empty() {
        return Ok(by_label);
    }
    let known: Vec<String> = TASK_TYPES
        .iter()
        .map(|(value, label)| format!("{value} ({label})"))
        .collect();
    Err(Error::new(
        Code::InvalidArgument,
        format!(
            "unknown task type {name:?}; types are {} in any case",
            known.join(", ")
        ),
    ))
}

/// The name the `earthengine` tool prints for an API task type
/// (`EXPORT_IMAGE` → `Export.image`), if it has one.
pub fn task_type_label(api_type: &str) -> Option<&'static str> {
    TASK_TYPES
        .iter()
        .find(|(value, _)| value.eq_ignore_ascii_case(api_type))
        .map(|(_, label)| *label)
}

/// Conditions on Earth Engine tasks, all of which an operation must meet;
/// each is left out until set. Within one condition, any of the values
/// matches.
///
/// An operation whose metadata does not say something a condition needs (no
/// type, no creation time, no description, or metadata that could not be
/// decoded) does not match that condition; its state is then the one its
/// `done` and `error` give ([`Operation::state`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskFilter {
    states: Vec<State>,
    types: Vec<String>,
    created_since: Option<SystemTime>,
    description: Option<Wildcard>,
}

impl TaskFilter {
    /// A filter that keeps every operation.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps operations in any of these states (added to those set before).
    #[must_use]
    pub fn with_states(mut self, states: impl IntoIterator<Item = State>) -> Self {
        for state in states {
            if !self.states.contains(&state) {
                self.states.push(state);
            }
        }
        self
    }

    /// Keeps operations of any of these API task types, compared in any case
    /// (added to those set before). [`parse_task_type`] turns the names
    /// people use into these values.
    #[must_use]
    pub fn with_types<T: Into<String>>(mut self, types: impl IntoIterator<Item = T>) -> Self {
        for kind in types {
            let kind = kind.into().trim().to_ascii_uppercase();
            if !self.types.contains(&kind) {
                self.types.push(kind);
            }
        }
        self
    }

    /// Keeps operations created at or after `time`.
    #[must_use]
    pub fn with_created_since(mut self, time: SystemTime) -> Self {
        self.created_since = Some(time);
        self
    }

    /// Keeps operations whose whole description matches a shell-style
    /// wildcard pattern, in any case: `*` is any text, `?` one character,
    /// `[abc]`, `[a-z]` and `[!abc]` one character of (or not of) a set,
    /// and `\` makes the next character literal.
    #[must_use]
    pub fn with_description(mut self, pattern: &str) -> Self {
        self.description = Some(Wildcard::new(pattern));
        self
    }

    /// True when no condition is set: every operation matches.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
            && self.types.is_empty()
            && self.created_since.is_none()
            && self.description.is_none()
    }

    /// The states asked for (empty: any).
    pub fn states(&self) -> &[State] {
        &self.states
    }

    /// Whether the operation meets every condition.
    pub fn matches(&self, operation: &Operation) -> bool {
        if self.is_empty() {
            return true;
        }
        // Decoded once for every condition.
        let metadata = operation.earth_engine_metadata();
        if !self.states.is_empty()
            && !self
                .states
                .contains(&state_of(operation, metadata.as_ref()))
        {
            return false;
        }
        let needs_metadata =
            !self.types.is_empty() || self.created_since.is_some() || self.description.is_some();
        if !needs_metadata {
            return true;
        }
        let Some(metadata) = metadata else {
            return false;
        };
        if !self.types.is_empty()
            && !self
                .types
                .iter()
                .any(|kind| kind.eq_ignore_ascii_case(metadata.task_type().trim()))
        {
            return false;
        }
        if let Some(since) = self.created_since
            && metadata.created_at().is_none_or(|created| created < since)
        {
            return false;
        }
        if let Some(pattern) = &self.description
            && !pattern.matches(&metadata.description)
        {
            return false;
        }
        true
    }
}

/// A shell-style wildcard pattern, matched in any case against a whole text.
#[derive(Clone, Debug, PartialEq)]
struct Wildcard {
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    /// Any text, empty included.
    Any,
    /// Any one character.
    One,
    /// One character in (or, when negated, not in) the ranges.
    Set {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// This character, in any case.
    Literal(char),
}

impl Wildcard {
    fn new(pattern: &str) -> Self {
        let chars: Vec<char> = pattern.chars().collect();
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < chars.len() {
            let piece = match chars[at] {
                '*' => {
                    if pieces.last() != Some(&Piece::Any) {
                        pieces.push(Piece::Any);
                    }
                    at += 1;
                    continue;
                }
                '?' => Piece::One,
                '\\' if at + 1 < chars.len() => {
                    at += 1;
                    Piece::Literal(fold(chars[at]))
                }
                '[' => match set(&chars[at + 1..]) {
                    // An unclosed `[` is a literal, as in the shell.
                    None => Piece::Literal('['),
                    Some((piece, used)) => {
                        at += used;
                        piece
                    }
                },
                other => Piece::Literal(fold(other)),
            };
            pieces.push(piece);
            at += 1;
        }
        Self { pieces }
    }

    /// Whether the whole text matches: a linear walk that, on a mismatch,
    /// lets the last `*` take one more character (no exponential
    /// backtracking).
    fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().map(fold).collect();
        let (mut p, mut t) = (0, 0);
        let mut resume: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.pieces.get(p) {
                Some(Piece::Any) => {
                    resume = Some((p, t));
                    p += 1;
                }
                Some(piece) if piece.takes(text[t]) => {
                    p += 1;
                    t += 1;
                }
                _ => match resume {
                    Some((star, from)) => {
                        p = star + 1;
                        t = from + 1;
                        resume = Some((star, from + 1));
                    }
                    None => return false,
                },
            }
        }
        self.pieces[p..].iter().all(|piece| *piece == Piece::Any)
    }
}

impl Piece {
    fn takes(&self, c: char) -> bool {
        match self {
            Self::Any | Self::One => true,
            Self::Literal(literal) => *literal == c,
            Self::Set { negated, ranges } => {
                ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
            }
        }
    }
}

/// A `[...]` set from the characters after its `[`, and how many of them
/// it used (the closing `]` included); None when it is not closed.
fn set(chars: &[char]) -> Option<(Piece, usize)> {
    let mut at = 0;
    let negated = matches!(chars.first(), Some('!' | '^'));
    if negated {
        at += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(at)?;
        if c == ']' && !first {
            return Some((Piece::Set { negated, ranges }, at + 1));
        }
        first = false;
        let low = fold(c);
        if chars.get(at + 1) == Some(&'-') && chars.get(at + 2).is_some_and(|&end| end != ']') {
            let high = fold(chars[at + 2]);
            ranges.push((low.min(high), low.max(high)));
            at += 3;
        } else {
            ranges.push((low, low));
            at += 1;
        }
    }
}

/// One character folded for matching in any case.
fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use prost::Message;

    use super::*;
    use crate::proto::EARTH_ENGINE_METADATA_TYPE_URLS;
    use crate::proto::earthengine::OperationMetadata;

    fn task(state: State, kind: &str, description: &str, created: Option<SystemTime>) -> Operation {
        let metadata = OperationMetadata {
            state: state as i32,
            r#type: kind.into(),
            description: description.into(),
            create_time: created.map(prost_types::Timestamp::from),
            ..Default::default()
        };
        Operation {
            name: "projects/p/operations/T".into(),
            done: state.is_terminal(),
            metadata: Some(prost_types::Any {
                type_url: EARTH_ENGINE_METADATA_TYPE_URLS[0].into(),
                value: metadata.encode_to_vec(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn states_are_read_by_the_state_names_rule() {
        // The names themselves are tested with `State`'s parser (state.rs);
        // here, that parse_state is that parser, refusals included.
        for name in ["running", " Pending ", "COMPLETED", "DONE", ""] {
            assert_eq!(
                parse_state(name).map_err(|error| error.to_string()),
                name.parse::<State>().map_err(|error| error.to_string()),
                "{name}"
            );
        }
        let error = parse_state("DONE").expect_err("DONE is no state");
        assert_eq!(error.code(), Code::InvalidArgument);
        assert!(error.message().contains("CANCEL_REQUESTED"), "{error}");
    }

    #[test]
    fn task_types_by_api_value_tool_name_or_alias() {
        for (name, values) in [
            ("EXPORT_IMAGE", vec!["EXPORT_IMAGE"]),
            ("export_image", vec!["EXPORT_IMAGE"]),
            ("Export.image", vec!["EXPORT_IMAGE"]),
            ("export.TABLE", vec!["EXPORT_FEATURES"]),
            ("EXPORT_TABLE", vec!["EXPORT_FEATURES"]),
            ("Export.map", vec!["EXPORT_TILES"]),
            ("export_map", vec!["EXPORT_TILES"]),
            ("Export.video", vec!["EXPORT_VIDEO"]),
            ("upload", vec!["INGEST_IMAGE", "INGEST_TABLE", "INGEST"]),
            ("ingest_table", vec!["INGEST_TABLE"]),
        ] {
            assert_eq!(parse_task_type(name).ok(), Some(values), "{name}");
        }
        for bad in ["", "EXPORT", "Export.images", "export-image"] {
            let error = parse_task_type(bad).expect_err(bad);
            assert_eq!(error.code(), Code::InvalidArgument);
            assert!(
                error.message().contains("EXPORT_IMAGE (Export.image)"),
                "{error}"
            );
        }
        assert_eq!(task_type_label("export_features"), Some("Export.table"));
        assert_eq!(task_type_label("SOMETHING_NEW"), None);
    }

    #[test]
    fn every_condition_must_hold() {
        let now = SystemTime::now();
        let hour_ago = now - Duration::from_secs(3600);
        let day_ago = now - Duration::from_secs(86_400);
        let recent = task(State::Running, "EXPORT_IMAGE", "Nightly-NDVI", Some(now));
        let old = task(State::Failed, "INGEST_TABLE", "roads", Some(day_ago));
        let undated = task(State::Running, "EXPORT_IMAGE", "x", None);
        let cases = [
            (TaskFilter::new(), [true, true, true]),
            (
                TaskFilter::new().with_states([State::Running]),
                [true, false, true],
            ),
            (
                TaskFilter::new().with_states([State::Failed, State::Pending]),
                [false, true, false],
            ),
            (
                TaskFilter::new().with_types(["export_image"]),
                [true, false, true],
            ),
            (
                TaskFilter::new().with_created_since(hour_ago),
                [true, false, false],
            ),
            (
                TaskFilter::new().with_description("nightly-*"),
                [true, false, false],
            ),
            (
                TaskFilter::new()
                    .with_states([State::Running])
                    .with_types(["INGEST_TABLE"]),
                [false, false, false],
            ),
        ];
        for (filter, expected) in cases {
            let got = [&recent, &old, &undated].map(|op| filter.matches(op));
            assert_eq!(got, expected, "{filter:?}");
        }
    }

    #[test]
    fn operations_without_earth_engine_metadata_have_only_a_state() {
        let other = Operation {
            name: "operations/x".into(),
            done: false,
            ..Default::default()
        };
        assert!(
            TaskFilter::new()
                .with_states([State::Running])
                .matches(&other)
        );
        assert!(
            !TaskFilter::new()
                .with_types(["EXPORT_IMAGE"])
                .matches(&other)
        );
        assert!(!TaskFilter::new().with_description("*").matches(&other));
    }

    #[test]
    fn wildcards_match_the_whole_description_in_any_case() {
        for (pattern, text, expected) in [
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "a", false),
            ("abc", "ABC", true),
            ("abc", "abcd", false),
            ("a*c", "abbbc", true),
            ("a*c", "abbbd", false),
            ("*.tif", "scene_1.TIF", true),
            ("?", "é", true),
            ("??", "a", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxcyyb", false),
            ("[abc]x", "Bx", true),
            ("[!abc]x", "bx", false),
            ("[!abc]x", "dx", true),
            ("[a-c]*", "Cat", true),
            ("[a-c]*", "dog", false),
            ("[]]", "]", true),
            ("[", "[", true),
            ("a[", "a[", true),
            ("\\*", "*", true),
            ("\\*", "x", false),
            ("*a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", false),
            ("*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
        ] {
            assert_eq!(
                Wildcard::new(pattern).matches(text),
                expected,
                "{pattern:?} on {text:?}"
            );
        }
    }
}
