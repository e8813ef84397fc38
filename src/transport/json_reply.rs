//! A successful REST reply read as its message: the rule for an empty body,
//! for text that is not UTF-8, and the error that names what was expected,
//! from where, and how the body starts.

use crate::error::{Error, Origin, Result};
use crate::json::{self, JsonError, ParseMode};
use crate::proto::rpc::Code;

/// A successful reply as `M`; an empty body is an empty message.
pub(crate) fn parse_reply<M: prost::Message + Default>(
    body: &[u8],
    type_name: &str,
    base: &str,
) -> Result<M> {
    read_text(body, type_name, base, |text| {
        json::parse_typed::<M>(text, type_name, ParseMode::Lenient)
    })
}

/// Reads a reply's JSON text with `parse`; an empty body is the default
/// message.
pub(super) fn read_text<M: Default>(
    body: &[u8],
    type_name: &str,
    base: &str,
    parse: impl FnOnce(&str) -> std::result::Result<M, JsonError>,
) -> Result<M> {
    if is_empty(body) {
        return Ok(M::default());
    }
    let text = std::str::from_utf8(body).map_err(|_| not_text(base))?;
    parse(text).map_err(|e| invalid_reply(type_name, base, text, &e))
}

/// Whether a reply's body stands for the empty message.
pub(super) fn is_empty(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// A reply from `base` whose body is not text.
pub(super) fn not_text(base: &str) -> Error {
    Error::local(
        Origin::Decode,
        Code::Internal,
        format!("the response from {base} is not UTF-8 text"),
    )
}

/// A reply from `base` whose `text` is not a valid `type_name`.
pub(super) fn invalid_reply(type_name: &str, base: &str, text: &str, error: &JsonError) -> Error {
    let snippet: String = text
        .chars()
        .take(120)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    Error::local(
        Origin::Decode,
        Code::Internal,
        format!("invalid {type_name} from {base}: {error} (body starts {snippet:?})"),
    )
}
