//! Percent-encoding, as eeops writes and reads URLs and headers: the
//! `percent-encoding` crate with the two sets eeops uses, and a decoder that
//! refuses what a conforming sender cannot have written.
//!
//! Paths, query keys and values are encoded with [`COMPONENT`], so that no
//! character a URL gives a meaning to is ever left bare; routing headers
//! keep `/` ([`KEEPING_SLASHES`]), as Google's clients send resource names.

#[cfg(any(test, feature = "emulator"))]
use std::borrow::Cow;

#[cfg(any(test, feature = "emulator"))]
use percent_encoding::percent_decode_str;
use std::sync::LazyLock;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Every byte but RFC 3986's unreserved ones (ALPHA / DIGIT / `-._~`),
/// reserved characters included.
pub(crate) const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// [`COMPONENT`] but `/`.
pub(crate) const KEEPING_SLASHES: &AsciiSet = &COMPONENT.remove(b'/');

/// `text` with every byte of [`COMPONENT`] encoded (upper-case hex).
pub(crate) fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    encode_into(&mut out, text, COMPONENT);
    out
}

/// Appends `text` to `out`, every byte of `set` encoded: runs of bytes kept
/// as they are are copied whole.
pub(crate) fn encode_into(out: &mut String, text: &str, set: &'static AsciiSet) {
    if is_kept_whole(text, set) {
        out.push_str(text);
    } else {
        out.extend(utf8_percent_encode(text, set));
    }
}

/// The length [`encode_into`] gives `text` with `set`.
#[cfg(test)]
pub(crate) fn encoded_len(text: &str, set: &'static AsciiSet) -> usize {
    if is_kept_whole(text, set) {
        text.len()
    } else {
        utf8_percent_encode(text, set).map(str::len).sum()
    }
}

/// Whether no byte of `text` is in `set`, as for most resource names: then
/// encoding copies it as it is. Tested byte by byte against a table of the
/// bytes the set leaves alone, read once from the crate's own encoder,
/// which is several times cheaper per byte than its iterator.
fn is_kept_whole(text: &str, set: &'static AsciiSet) -> bool {
    static COMPONENT_KEEPS: LazyLock<[bool; 256]> = LazyLock::new(|| kept_bytes(COMPONENT));
    static SLASHES_KEEP: LazyLock<[bool; 256]> = LazyLock::new(|| kept_bytes(KEEPING_SLASHES));
    // Sets are told apart by their bytes: a constant's address is not
    // guaranteed to be the same at every use.
    let kept: &[bool; 256] = if *set == *COMPONENT {
        &COMPONENT_KEEPS
    } else if *set == *KEEPING_SLASHES {
        &SLASHES_KEEP
    } else {
        return false;
    };
    text.bytes().all(|byte| kept[usize::from(byte)])
}

/// Which bytes `set` leaves as they are (never a byte above ASCII, which
/// is always encoded).
fn kept_bytes(set: &'static AsciiSet) -> [bool; 256] {
    let mut kept = [false; 256];
    for byte in 0u8..128 {
        let text = [byte];
        let text = std::str::from_utf8(&text).unwrap_or_default();
        kept[usize::from(byte)] = utf8_percent_encode(text, set).next() == Some(text);
    }
    kept
}

#[cfg(any(test, feature = "emulator"))]
/// Percent-decodes `text`; None when a `%` does not start an escape of two
/// hex digits (either case) or the bytes are not UTF-8.
pub(crate) fn decode(text: &str) -> Option<Cow<'_, str>> {
    let well_formed = text.split('%').skip(1).all(|after_percent| {
        after_percent
            .as_bytes()
            .get(..2)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_decode_str(text).decode_utf8().ok()
}

#[cfg(any(test, feature = "emulator"))]
/// Decodes a query key or value: [`decode`], with `+` standing for a space
/// as HTML forms send it (`%2B` is a plus).
pub(crate) fn decode_query(text: &str) -> Option<String> {
    if text.contains('+') {
        decode(&text.replace('+', " ")).map(Cow::into_owned)
    } else {
        decode(text).map(Cow::into_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_kept_whole_is_exactly_what_the_encoder_leaves_alone() {
        for set in [COMPONENT, KEEPING_SLASHES] {
            for text in [
                "operations/ABC-1_2.3~4",
                "a b",
                "é",
                "a%2Fb",
                "",
                "x?y",
                "p/q",
            ] {
                let mut out = String::new();
                encode_into(&mut out, text, set);
                let expected: String = utf8_percent_encode(text, set).collect();
                assert_eq!(out, expected, "{text:?}");
                assert_eq!(encoded_len(text, set), expected.len(), "{text:?}");
                assert_eq!(is_kept_whole(text, set), expected == text, "{text:?}");
            }
        }
    }

    #[test]
    fn component_keeps_exactly_rfc_3986s_unreserved_bytes() {
        let mut expected: Vec<u8> = (b'A'..=b'Z')
            .chain(b'a'..=b'z')
            .chain(b'0'..=b'9')
            .chain(*b"-._~")
            .collect();
        expected.sort_unstable();
        // Bytes from 0x80 up are never kept: they only occur in UTF-8
        // sequences, which are always encoded.
        let kept = |set: &'static AsciiSet| -> Vec<u8> {
            (0..=127u8)
                .filter(|&byte| encoded_len(&char::from(byte).to_string(), set) == 1)
                .collect()
        };
        assert_eq!(kept(COMPONENT), expected);
        expected.push(b'/');
        expected.sort_unstable();
        assert_eq!(kept(KEEPING_SLASHES), expected);
    }

    #[test]
    fn encodes_with_upper_case_hex() {
        assert_eq!(
            encode_component("a b/c:d\u{e9}~%"),
            "a%20b%2Fc%3Ad%C3%A9~%25"
        );
        let mut out = String::from("name=");
        encode_into(&mut out, "projects/p q", KEEPING_SLASHES);
        assert_eq!(out, "name=projects/p%20q");
        assert_eq!(encoded_len("projects/p q", KEEPING_SLASHES), 14);
        assert_eq!(encoded_len("\u{e9}", COMPONENT), 6);
    }

    #[test]
    fn decoding_refuses_bad_escapes_and_bad_utf8() {
        assert_eq!(decode("a%20b%2fc").as_deref(), Some("a b/c"));
        assert_eq!(decode("caf%C3%A9+").as_deref(), Some("caf\u{e9}+"));
        for bad in ["%", "a%", "%2", "%G1", "%%41", "%FF", "%C3", "%C3%28"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        assert_eq!(decode_query("a+b%2Bc").as_deref(), Some("a b+c"));
        assert_eq!(decode_query("a%zz"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// The sets give what RFC 3986's definition gives, byte by byte,
        /// and `encoded_len` what encoding writes.
        #[test]
        fn encoding_matches_the_byte_by_byte_definition(text in proptest::prelude::any::<String>()) {
            let by_byte = |keep_slash: bool| -> String {
                text.bytes()
                    .map(|byte| {
                        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) || (keep_slash && byte == b'/') {
                            char::from(byte).to_string()
                        } else {
                            format!("%{byte:02X}")
                        }
                    })
                    .collect()
            };
            proptest::prop_assert_eq!(encode_component(&text), by_byte(false));
            let mut kept = String::new();
            encode_into(&mut kept, &text, KEEPING_SLASHES);
            proptest::prop_assert_eq!(kept.len(), encoded_len(&text, KEEPING_SLASHES));
            proptest::prop_assert_eq!(kept, by_byte(true));
            let encoded = encode_component(&text);
            let decoded = decode(&encoded);
            proptest::prop_assert_eq!(decoded.as_deref(), Some(text.as_str()));
        }
    }
}
