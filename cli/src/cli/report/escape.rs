//! Escaping text for the page, shared by every part that writes it.

use std::borrow::Cow;

/// Text for HTML content and attribute values: markup characters escaped,
/// control characters other than newlines flattened to spaces.
pub(crate) fn esc(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| matches!(c, '&' | '<' | '>' | '"' | '\'' | '\n') || c.is_control())
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_controls_flattened() {
        assert_eq!(esc("plain"), "plain");
        assert_eq!(
            esc("<b a=\"1\">&'x'\n\u{7}"),
            "&lt;b a=&quot;1&quot;&gt;&amp;&#39;x&#39;&#10; "
        );
    }
}
