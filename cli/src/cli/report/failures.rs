//! Failures grouped by what went wrong: the error's code and its message
//! with the parts that differ from task to task (numbers, ids) taken out.

use std::collections::HashMap;

/// How many task ids a group shows as examples.
const EXAMPLES: usize = 3;

/// Tasks that failed the same way.
#[derive(Clone, Debug)]
pub(crate) struct FailureGroup {
    /// The canonical code's name, such as `INVALID_ARGUMENT`.
    pub(crate) code: String,
    /// The normalised message the group shares.
    pub(crate) pattern: String,
    pub(crate) count: usize,
    /// The first few task ids, in the order they were seen.
    pub(crate) examples: Vec<String>,
    /// The first message in full.
    pub(crate) sample: String,
}

/// Every failure seen so far, by group.
#[derive(Debug, Default)]
pub(crate) struct Failures {
    groups: HashMap<(String, String), FailureGroup>,
}

impl Failures {
    pub(crate) fn add(&mut self, id: &str, code: &str, message: &str) {
        let pattern = normalise(message);
        let group = self
            .groups
            .entry((code.to_owned(), pattern))
            .or_insert_with_key(|(code, pattern)| FailureGroup {
                code: code.clone(),
                pattern: pattern.clone(),
                count: 0,
                examples: Vec::new(),
                sample: message.to_owned(),
            });
        group.count += 1;
        if group.examples.len() < EXAMPLES {
            group.examples.push(id.to_owned());
        }
    }

    /// The groups, most frequent first (ties by message, so the page is
    /// the same for the same tasks).
    pub(crate) fn sorted(&self) -> Vec<&FailureGroup> {
        let mut groups: Vec<&FailureGroup> = self.groups.values().collect();
        groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.pattern.cmp(&b.pattern))
                .then_with(|| a.code.cmp(&b.code))
        });
        groups
    }
}

/// The message with every word that holds a digit replaced: `<n>` for
/// numbers, `<id>` for anything else (request ids, task ids, asset names
/// with dates in them). Long upper-case runs without digits, such as task
/// ids, also become `<id>`. Whitespace is collapsed.
pub(crate) fn normalise(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut word = String::new();
    for c in message.chars() {
        if is_word_char(c) {
            word.push(c);
        } else {
            flush_word(&mut word, &mut out);
            if c.is_whitespace() {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            } else {
                out.push(c);
            }
        }
    }
    flush_word(&mut word, &mut out);
    out.trim_end().to_owned()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

fn flush_word(word: &mut String, out: &mut String) {
    if word.is_empty() {
        return;
    }
    let has_digit = word.chars().any(|c| c.is_ascii_digit());
    let number = word
        .trim_start_matches('-')
        .chars()
        .all(|c| c.is_ascii_digit());
    let id_like = word.len() >= 16
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if has_digit && number {
        out.push_str("<n>");
    } else if has_digit || id_like {
        out.push_str("<id>");
    } else {
        out.push_str(word);
    }
    word.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_ids_are_stripped() {
        assert_eq!(
            normalise("Export too large: specified 2147483648 pixels (max: 100000000)."),
            "Export too large: specified <n> pixels (max: <n>)."
        );
        assert_eq!(
            normalise(
                "An internal error has occurred (request: 7c1f0e2b-3d4a-4b5c-9e6f-0a1b2c3d4e5f)."
            ),
            "An internal error has occurred (request: <id>)."
        );
        assert_eq!(
            normalise(
                "Asset 'projects/p/assets/ndvi_2020' in task QWERTYUIOPASDFGHJKLZXCVB:  not found"
            ),
            "Asset 'projects/p/assets/<id>' in task <id>: not found"
        );
        assert_eq!(normalise("1.5 s over"), "<n>.<n> s over");
        assert_eq!(
            normalise("Computation timed out."),
            "Computation timed out."
        );
    }

    #[test]
    fn messages_that_differ_only_in_ids_share_a_group() {
        let mut failures = Failures::default();
        failures.add("A", "INTERNAL", "error (request: 1f2e)");
        failures.add("B", "INTERNAL", "error (request: 9a9b)");
        failures.add("C", "INVALID_ARGUMENT", "error (request: 1f2e)");
        failures.add("D", "INTERNAL", "error (request: 77aa)");
        failures.add("E", "INTERNAL", "error (request: 77ab)");
        let groups = failures.sorted();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].count, 4);
        assert_eq!(groups[0].examples, ["A", "B", "D"]);
        assert_eq!(groups[0].sample, "error (request: 1f2e)");
        assert_eq!(
            (groups[1].code.as_str(), groups[1].count),
            ("INVALID_ARGUMENT", 1)
        );
    }
}
