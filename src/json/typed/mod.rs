//! Proto3 JSON read straight from text into the generated Operations types,
//! and written straight from them.
//!
//! `Operation`, `ListOperationsResponse`, `google.rpc.Status` and Earth
//! Engine's `OperationMetadata` are read by serde visitors written for their
//! fields: no JSON tree, no dynamic message and no protobuf round trip. What
//! is rare stays with the descriptor-driven reader: an `Any` of any other type
//! (kept as its JSON text when its type is unknown, see [`super::parse`]).
//!
//! The rules are those of the descriptor-driven reader, and tests hold the
//! two to the same results: a field may be given by its JSON or its proto
//! name, but only once; `null` is the default; unknown fields are ignored
//! when lenient (and checked for keys given twice); an object never has the
//! same key twice; timestamps must be in their proto3 form.

mod any;
mod context;
mod messages;
mod page;
mod scalars;
mod scan;
#[cfg(test)]
mod tests;
mod timestamp;
mod unique;
mod write;

#[cfg(any(test, fuzzing))]
pub(crate) use page::read_page_by_operation;
pub(crate) use page::{PageEnd, PageReader};
pub(super) use timestamp::parse as parse_timestamp;
pub(super) use unique::UniqueValue;

use super::error::{JsonError, ParseMode};
use crate::proto::longrunning::{ListOperationsResponse, Operation};
use crate::proto::rpc::Status;
use context::Context;
use messages::Read;
#[cfg(feature = "emulator")]
pub(crate) use write::Written;
pub use write::{ListOperationsResponseJson, OperationJson, StatusJson};

/// Reads an operation from proto3 JSON text.
pub(crate) fn read_operation(text: &str, mode: ParseMode) -> Result<Operation, JsonError> {
    read_message(text, mode)
}

/// Reads a page of operations from proto3 JSON text.
pub(crate) fn read_list_page(
    text: &str,
    mode: ParseMode,
) -> Result<ListOperationsResponse, JsonError> {
    read_message(text, mode)
}

/// Reads a `google.rpc.Status` from proto3 JSON text.
pub(crate) fn read_status(text: &str, mode: ParseMode) -> Result<Status, JsonError> {
    read_message(text, mode)
}

fn read_message<M: Read>(text: &str, mode: ParseMode) -> Result<M, JsonError> {
    read(text, mode, |reader, context| M::read(reader, context))
}

/// Reads the whole of `text` with `value`, which reads one JSON value.
fn read<T>(
    text: &str,
    mode: ParseMode,
    value: impl FnOnce(&mut TextReader<'_>, &Context) -> Result<T, serde_json::Error>,
) -> Result<T, JsonError> {
    let context = Context::new(mode);
    let mut reader = serde_json::Deserializer::from_str(text);
    let read = value(&mut reader, &context).and_then(|value| reader.end().map(|()| value));
    read.map_err(|error| context.into_error(&error))
}

/// serde_json's reader of a document in memory.
type TextReader<'t> = serde_json::Deserializer<serde_json::de::StrRead<'t>>;
