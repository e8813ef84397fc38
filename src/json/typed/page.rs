//! A page of operations read one operation at a time, as a listing asks
//! for them: reading a whole page first holds a thousand operations'
//! allocations at once, which is slower than reading, using and dropping
//! each in turn, and makes the first operation wait for the last.
//!
//! Each operation is read once, by the full reader, straight from the
//! page's text; the page's own members are read by the same rules (keys
//! given twice, unknown members, `null`) as they come, before or after the
//! operations. Read as a client reads a server's reply: unknown members are
//! skipped. Whatever fails, the error is the one the full reader gives for
//! the whole page, so it names the same place in the same words.

use serde::de::DeserializeSeed;
use serde::{Deserialize, Deserializer};

use super::context::Context;
use super::messages::{Keys, Member, Read};
use super::read_list_page;
use super::scan::{Cursor, Malformed};
use super::unique::UniqueValue;
use crate::json::error::{JsonError, ParseMode};
use crate::proto::longrunning::{ListOperationsResponse, Operation};

/// A page's text, read as far as its next operation.
#[derive(Debug)]
pub(crate) struct PageReader {
    text: String,
    /// Where reading goes on.
    at: usize,
    members: Members,
    /// Why the page cannot be read, found once its operations before the
    /// failure were read.
    failure: Option<JsonError>,
}

/// The page's own members, as far as they are read.
#[derive(Debug, Default)]
struct Members {
    keys: Keys,
    /// Whether reading is at an operation of the `operations` array.
    in_operations: bool,
    next_page_token: String,
    unreachable: Vec<String>,
}

/// What is left of a page once its operations are read.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct PageEnd {
    pub(crate) next_page_token: String,
    pub(crate) unreachable: Vec<String>,
}

impl PageEnd {
    /// The whole page, with its `operations`.
    pub(crate) fn with_operations(self, operations: Vec<Operation>) -> ListOperationsResponse {
        ListOperationsResponse {
            operations,
            next_page_token: self.next_page_token,
            unreachable: self.unreachable,
        }
    }
}

impl PageReader {
    /// Reads `text` up to its first operation; fails for a page that is
    /// malformed before it, giving the text back.
    pub(crate) fn new(text: String) -> Result<Self, (JsonError, String)> {
        let mut members = Members::default();
        let mut cursor = Cursor::resume(&text, 0);
        let opened = cursor.expect(b'{').and_then(|()| {
            if cursor.take(b'}') {
                cursor.end()
            } else {
                members.read(&mut cursor)
            }
        });
        let at = cursor.position();
        match opened {
            Ok(()) => Ok(Self {
                text,
                at,
                members,
                failure: None,
            }),
            Err(Malformed) => Err((whole_page_error(&text, ""), text)),
        }
    }

    /// The page's next operation; `None` once they are all read, or after
    /// an error.
    pub(crate) fn next_operation(&mut self) -> Option<Result<Operation, JsonError>> {
        if !self.members.in_operations {
            return None;
        }
        let mut items =
            serde_json::Deserializer::from_str(&self.text[self.at..]).into_iter::<Listed>();
        let read = items.next();
        let end = self.at + items.byte_offset();
        let operation = match read {
            Some(Ok(Listed(operation))) => operation,
            Some(Err(error)) => return Some(Err(self.fail(&error.to_string()))),
            None => return Some(Err(self.fail("the page ends"))),
        };
        let mut cursor = Cursor::resume(&self.text, end);
        let after = if cursor.take(b',') {
            Ok(())
        } else {
            self.members.in_operations = false;
            cursor
                .expect(b']')
                .and_then(|()| self.members.after_member(&mut cursor))
        };
        self.at = cursor.position();
        if after.is_err() {
            // The operation is whole; the page fails after it.
            self.fail("");
        }
        Some(Ok(operation))
    }

    /// The token and `unreachable` of the page, reading any operations
    /// left; fails for a page malformed anywhere. Once only.
    pub(crate) fn finish(&mut self) -> Result<PageEnd, JsonError> {
        while let Some(operation) = self.next_operation() {
            operation?;
        }
        match &self.failure {
            Some(error) => Err(error.clone()),
            None => Ok(PageEnd {
                next_page_token: std::mem::take(&mut self.members.next_page_token),
                unreachable: std::mem::take(&mut self.members.unreachable),
            }),
        }
    }

    /// The page's text.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Notes that reading failed (`alone` is why, in the part read on its
    /// own) and returns the error to give, now and from then on.
    fn fail(&mut self, alone: &str) -> JsonError {
        self.members.in_operations = false;
        let error = whole_page_error(&self.text, alone);
        self.failure = Some(error.clone());
        error
    }
}

impl Members {
    /// Reads members from the cursor, at the start of one, until the
    /// `operations` array's first item or the end of the page.
    fn read(&mut self, cursor: &mut Cursor<'_>) -> Result<(), Malformed> {
        let text = cursor.text();
        loop {
            let key = cursor.key()?;
            cursor.expect(b':')?;
            let member = self
                .keys
                .admit::<ListOperationsResponse>(&key, false, true)
                .map_err(|_| Malformed)?;
            match member {
                Member::Field(0) if cursor.take(b'[') => {
                    if !cursor.take(b']') {
                        self.in_operations = true;
                        return Ok(());
                    }
                }
                Member::Field(0) => null(&text[cursor.value()?])?,
                Member::Field(1) => self.next_page_token = or_default(&text[cursor.value()?])?,
                Member::Field(_) => self.unreachable = or_default(&text[cursor.value()?])?,
                Member::Unknown => {
                    // Skipped, but still refused if it has a key twice.
                    let mut reader = serde_json::Deserializer::from_str(&text[cursor.value()?]);
                    UniqueValue
                        .deserialize(&mut reader)
                        .map_err(|_| Malformed)?;
                }
            }
            if !cursor.take(b',') {
                return close(cursor);
            }
        }
    }

    /// Reads on after a member that ended: more members, or the page's end.
    fn after_member(&mut self, cursor: &mut Cursor<'_>) -> Result<(), Malformed> {
        if cursor.take(b',') {
            self.read(cursor)
        } else {
            close(cursor)
        }
    }
}

/// The page's closing brace, and nothing after it.
fn close(cursor: &mut Cursor<'_>) -> Result<(), Malformed> {
    cursor.expect(b'}').and_then(|()| cursor.end())
}

/// The full reader's error for `page`. It reads the page, so it fails
/// too; should it not, the error says the page could not be read one
/// operation at a time, and `alone` (why reading a part of it failed).
fn whole_page_error(page: &str, alone: &str) -> JsonError {
    match read_list_page(page, ParseMode::Lenient) {
        Err(error) => error,
        Ok(_) if alone.is_empty() => {
            JsonError::at_root("cannot read the page one operation at a time")
        }
        Ok(_) => JsonError::at_root(format!(
            "cannot read the page one operation at a time: {alone}"
        )),
    }
}

/// The whole of a page read one operation at a time.
#[cfg(any(test, fuzzing))]
pub(crate) fn read_page_by_operation(text: &str) -> Result<ListOperationsResponse, JsonError> {
    let mut page = PageReader::new(text.to_owned()).map_err(|(error, _)| error)?;
    let operations = std::iter::from_fn(|| page.next_operation()).collect::<Result<_, _>>()?;
    Ok(page.finish()?.with_operations(operations))
}

/// An operation of a page, read as a client reads a reply.
struct Listed(Operation);

impl<'de> Deserialize<'de> for Listed {
    fn deserialize<D: Deserializer<'de>>(reader: D) -> Result<Self, D::Error> {
        // Where a failure was is not kept: the error given is the whole
        // page's.
        let context = Context::new(ParseMode::Lenient);
        Operation::read(reader, &context).map(Listed)
    }
}

/// A member's value that must be `null`.
fn null(value: &str) -> Result<(), Malformed> {
    if value == "null" {
        Ok(())
    } else {
        Err(Malformed)
    }
}

/// A member's value as `T`; `null` is the default.
fn or_default<T: serde::de::DeserializeOwned + Default>(value: &str) -> Result<T, Malformed> {
    serde_json::from_str::<Option<T>>(value)
        .map(Option::unwrap_or_default)
        .map_err(|_| Malformed)
}
