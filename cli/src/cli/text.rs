//! Text measured as a terminal shows it: display width (CJK characters and
//! most emoji take two columns), cutting, padding and wrapping at word
//! boundaries.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The columns `text` takes on a terminal.
pub(crate) fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` on one line: line breaks, tabs and other control characters
/// become spaces, so a value can never break a table row or a TSV line.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `text` on one line, cut to at most `columns` columns with `…` marking
/// the cut.
pub(crate) fn fit(text: &str, columns: usize) -> String {
    let line = one_line(text);
    if width(&line) <= columns {
        return line;
    }
    if columns == 0 {
        return String::new();
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in line.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > columns - 1 {
            break;
        }
        cut.push(c);
        used += w;
    }
    cut.push('…');
    cut
}

/// `text` padded with spaces on the right to `columns` columns.
pub(crate) fn pad_right(text: &str, columns: usize) -> String {
    let mut out = text.to_owned();
    out.extend(std::iter::repeat_n(
        ' ',
        columns.saturating_sub(width(text)),
    ));
    out
}

/// `text` padded with spaces on the left to `columns` columns.
pub(crate) fn pad_left(text: &str, columns: usize) -> String {
    let mut out: String = std::iter::repeat_n(' ', columns.saturating_sub(width(text))).collect();
    out.push_str(text);
    out
}

/// Splits `text` into lines of at most `columns` columns, breaking between
/// words; a word longer than a line is broken where it must be. Nothing is
/// dropped: joining the lines with spaces gives the words back.
pub(crate) fn wrap(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in one_line(text).split(' ').filter(|w| !w.is_empty()) {
        let w = width(word);
        if used > 0 && used + 1 + w <= columns {
            line.push(' ');
            line.push_str(word);
            used += 1 + w;
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        if w <= columns {
            line.push_str(word);
            used = w;
            continue;
        }
        // Longer than a whole line: break it by columns.
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > columns && used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            line.push(c);
            used += cw;
        }
    }
    if used > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("土地被覆"), 8);
        assert_eq!(width("🌍 map"), 6);
    }

    #[test]
    fn fit_cuts_by_display_width_with_an_ellipsis() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab");
        assert_eq!(fit("a\nb", 4), "a b");
        // Never wider than asked, even when a wide character does not fit.
        let cut = fit("土地被覆分類", 6);
        assert!(width(&cut) <= 6, "{cut}");
        assert!(cut.ends_with('…') && cut.starts_with("土地"), "{cut}");
    }

    #[test]
    fn padding_counts_display_columns() {
        assert_eq!(width(&pad_right("土地", 6)), 6);
        assert_eq!(pad_left("7%", 4), "  7%");
    }

    #[test]
    fn wrap_breaks_between_words_and_keeps_every_word() {
        let text = "quota exceeded: max 10000 concurrent exports per project, retry later";
        let lines = wrap(text, 20);
        assert!(lines.iter().all(|l| width(l) <= 20), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        let long = wrap("gs://bucket/a-very-long-path-without-spaces", 10);
        assert!(long.iter().all(|l| width(l) <= 10), "{long:?}");
        assert_eq!(long.concat(), "gs://bucket/a-very-long-path-without-spaces");
        assert_eq!(wrap("", 10), vec![String::new()]);
        let wide = wrap("土地被覆 分類 🌍🌍🌍", 6);
        assert!(wide.iter().all(|l| width(l) <= 6), "{wide:?}");
    }
}
