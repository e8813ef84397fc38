//! Where JSON values end, found without reading them: what splits a page
//! into its operations' texts. Every text it delimits is read in full
//! later, so it only has to find the ends of well-formed values; it refuses
//! what it cannot delimit, and then the full reader says what is wrong.

use std::borrow::Cow;
use std::ops::Range;

/// The text is not JSON that can be delimited.
#[derive(Debug)]
pub(super) struct Malformed;

/// A position in a JSON text.
pub(super) struct Cursor<'t> {
    text: &'t str,
    at: usize,
    /// The closing brackets still due inside a value, kept between values.
    due: Vec<u8>,
}

impl<'t> Cursor<'t> {
    /// A cursor at byte `at` of `text`.
    pub(super) fn resume(text: &'t str, at: usize) -> Self {
        Self {
            text,
            at,
            due: Vec::new(),
        }
    }

    pub(super) fn text(&self) -> &'t str {
        self.text
    }

    pub(super) fn position(&self) -> usize {
        self.at
    }

    fn bytes(&self) -> &'t [u8] {
        self.text.as_bytes()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.at) {
            self.at += 1;
        }
    }

    /// Whether the next byte (after whitespace) is `byte`; takes it if so.
    pub(super) fn take(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let found = self.bytes().get(self.at) == Some(&byte);
        self.at += usize::from(found);
        found
    }

    /// Takes `byte`, which must come next (after whitespace).
    pub(super) fn expect(&mut self, byte: u8) -> Result<(), Malformed> {
        if self.take(byte) {
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    /// Whether only whitespace is left.
    pub(super) fn at_end(&mut self) -> bool {
        self.skip_whitespace();
        self.at == self.text.len()
    }

    /// Only whitespace must be left.
    pub(super) fn end(&mut self) -> Result<(), Malformed> {
        if self.at_end() {
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    /// The next member's key, unescaped.
    pub(super) fn key(&mut self) -> Result<Cow<'t, str>, Malformed> {
        self.skip_whitespace();
        let quoted = self.value()?;
        let text = &self.text[quoted];
        let inner = text
            .strip_prefix('"')
            .and_then(|text| text.strip_suffix('"'))
            .ok_or(Malformed)?;
        if inner.contains('\\') {
            return serde_json::from_str(text)
                .map(Cow::Owned)
                .map_err(|_| Malformed);
        }
        // Control characters must be escaped in a JSON string.
        if inner.bytes().any(|byte| byte < 0x20) {
            return Err(Malformed);
        }
        Ok(Cow::Borrowed(inner))
    }

    /// Where the next value (after whitespace) is, and moves past it.
    pub(super) fn value(&mut self) -> Result<Range<usize>, Malformed> {
        self.skip_whitespace();
        let start = self.at;
        match self.bytes().get(start) {
            None => return Err(Malformed),
            Some(b'"') => self.at = self.string_end(start + 1)?,
            Some(b'{' | b'[') => self.skip_nested()?,
            Some(_) => {
                // A number or a literal: up to what may follow a value.
                let rest = &self.bytes()[start..];
                let length = rest
                    .iter()
                    .position(|byte| b",:]}[{\" \t\n\r".contains(byte))
                    .unwrap_or(rest.len());
                if length == 0 {
                    return Err(Malformed);
                }
                self.at = start + length;
            }
        }
        Ok(start..self.at)
    }

    /// Moves past an object or an array, the cursor at its opening bracket.
    fn skip_nested(&mut self) -> Result<(), Malformed> {
        self.due.clear();
        loop {
            let byte = *self.bytes().get(self.at).ok_or(Malformed)?;
            self.at += 1;
            match byte {
                b'"' => self.at = self.string_end(self.at)?,
                b'{' => self.due.push(b'}'),
                b'[' => self.due.push(b']'),
                b'}' | b']' => {
                    if self.due.pop() != Some(byte) {
                        return Err(Malformed);
                    }
                    if self.due.is_empty() {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
    }

    /// Where the string whose text starts at `from` ends (after its
    /// closing quote).
    fn string_end(&self, mut from: usize) -> Result<usize, Malformed> {
        let bytes = self.bytes();
        loop {
            let rest = bytes.get(from..).ok_or(Malformed)?;
            let found = memchr::memchr2(b'"', b'\\', rest).ok_or(Malformed)?;
            if rest[found] == b'"' {
                return Ok(from + found + 1);
            }
            // An escape: the byte after the backslash is not an end.
            from += found + 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Result<Vec<&str>, Malformed> {
        let mut cursor = Cursor::resume(text, 0);
        let mut found = Vec::new();
        while !cursor.at_end() {
            found.push(&text[cursor.value()?]);
        }
        Ok(found)
    }

    #[test]
    fn values_end_where_their_json_ends() {
        let text = r#" "a\"b\\" {"k": ["]", "}", {"x": "\\\""}]} [1, [2]] -1.5e3 true null "#;
        assert_eq!(
            values(text).expect("well-formed"),
            [
                r#""a\"b\\""#,
                r#"{"k": ["]", "}", {"x": "\\\""}]}"#,
                "[1, [2]]",
                "-1.5e3",
                "true",
                "null",
            ]
        );
    }

    #[test]
    fn what_cannot_be_delimited_is_refused() {
        for text in [
            r#""open"#,
            r#""ends in an escape\"#,
            "{",
            r#"{"a": [}"#,
            "[1, 2}",
            "]",
            ",",
            "{}}",
        ] {
            assert!(values(text).is_err(), "{text}");
        }
    }

    #[test]
    fn keys_are_unescaped_and_must_be_strings() {
        let key = |text: &'static str| Cursor::resume(text, 0).key().map(Cow::into_owned);
        assert_eq!(key(r#" "plain""#).ok().as_deref(), Some("plain"));
        assert_eq!(key(r#""a\u0062\n""#).ok().as_deref(), Some("ab\n"));
        for bad in ["7", "{}", "\"tab\there\"", r#""\x""#] {
            assert!(key(bad).is_err(), "{bad}");
        }
    }
}
