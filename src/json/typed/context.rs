//! What every visitor of one document shares: the mode, and where a failure
//! happened (serde's errors cannot carry a path, so it is kept beside them
//! and built only when something fails).

use std::cell::RefCell;

use serde::de;
use serde_json::error::Category;

use super::super::error::{JsonError, ParseMode};

pub(super) struct Context {
    lenient: bool,
    failure: RefCell<Option<Failure>>,
}

struct Failure {
    /// Innermost first.
    path: Vec<Segment>,
    message: String,
}

pub(super) enum Segment {
    Key(String),
    Index(usize),
}

impl Context {
    pub(super) fn new(mode: ParseMode) -> Self {
        Self {
            lenient: mode == ParseMode::Lenient,
            failure: RefCell::new(None),
        }
    }

    pub(super) fn lenient(&self) -> bool {
        self.lenient
    }

    pub(super) fn mode(&self) -> ParseMode {
        if self.lenient {
            ParseMode::Lenient
        } else {
            ParseMode::Strict
        }
    }

    /// An error about the object being read (the callers add where it is).
    pub(super) fn error<E: de::Error>(&self, message: String) -> E {
        let error = E::custom(&message);
        self.record(None, message);
        error
    }

    /// Notes that reading the member at `segment` failed with `error`.
    pub(super) fn within<E: de::Error>(&self, segment: Segment, error: E) -> E {
        self.record(Some(segment), error.to_string());
        error
    }

    /// Notes that reading the object being read failed with `error`.
    pub(super) fn here<E: de::Error>(&self, error: E) -> E {
        self.record(None, error.to_string());
        error
    }

    /// Takes over a failure of the descriptor-driven reader, whose path is
    /// relative to the object being read.
    pub(super) fn adopt<E: de::Error>(&self, failure: JsonError) -> E {
        let (path, message) = failure.into_parts();
        let error = E::custom(&message);
        let segment = (!path.is_empty()).then_some(Segment::Key(path));
        self.record(segment, message);
        error
    }

    fn record(&self, segment: Option<Segment>, message: String) {
        let mut failure = self.failure.borrow_mut();
        let failure = failure.get_or_insert_with(|| Failure {
            path: Vec::new(),
            message,
        });
        failure.path.extend(segment);
    }

    pub(super) fn into_error(self, error: &serde_json::Error) -> JsonError {
        let syntax = matches!(error.classify(), Category::Syntax | Category::Eof);
        match self.failure.into_inner() {
            Some(failure) if !syntax => JsonError::at(&path_text(&failure.path), failure.message),
            Some(failure) => JsonError::at(
                &path_text(&failure.path),
                format!("not valid JSON: {error}"),
            ),
            None if syntax => JsonError::at_root(format!("not valid JSON: {error}")),
            None => JsonError::at_root(error.to_string()),
        }
    }
}

fn path_text(path: &[Segment]) -> String {
    let mut text = String::new();
    for segment in path.iter().rev() {
        match segment {
            Segment::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Segment::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}
