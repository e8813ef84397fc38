//! Percent-encoding in the tests: the `percent-encoding` crate with RFC
//! 3986's unreserved characters, the rule stated here apart from the
//! library's own so that a change there shows.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Every byte but the unreserved ones (ALPHA / DIGIT / `-._~`).
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` with every byte outside the unreserved set encoded.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, ENCODED).to_string()
}

/// Decodes text that must be written exactly as [`encode`] writes it: None
/// on a bad escape, invalid UTF-8, a byte left bare that should be encoded,
/// or one encoded that should not be.
pub fn decode_exact(text: &str) -> Option<String> {
    let decoded = percent_decode_str(text).decode_utf8().ok()?;
    (encode(&decoded) == text).then(|| decoded.into_owned())
}
