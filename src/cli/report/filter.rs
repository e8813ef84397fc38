//! Which tasks the report keeps: `--state`, `--type`, `--since` and
//! `--description`, applied to each task as it is listed.

use eeops::earthengine::State;

use super::model::Task;
use super::time::Millis;

#[derive(Clone, Debug, Default)]
pub(crate) struct Selection {
    pub(crate) states: Vec<State>,
    pub(crate) kinds: Vec<String>,
    /// Only tasks created at or after this instant.
    pub(crate) created_since: Option<Millis>,
    pub(crate) description: Option<String>,
}

impl Selection {
    pub(crate) fn keeps(&self, task: &Task) -> bool {
        (self.states.is_empty() || self.states.contains(&task.state))
            && (self.kinds.is_empty()
                || self
                    .kinds
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(&task.kind)))
            && self
                .created_since
                .is_none_or(|since| task.created.is_some_and(|c| c >= since))
            && self
                .description
                .as_deref()
                .is_none_or(|pattern| matches_pattern(pattern, &task.description))
    }
}

/// A pattern with `*` (any run of characters) or `?` (any one character)
/// must match the whole description; one without either matches anywhere
/// in it. Case is ignored either way.
pub(crate) fn matches_pattern(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let text: Vec<char> = text.to_lowercase().chars().collect();
    if !pattern.iter().any(|c| matches!(c, '*' | '?')) {
        return pattern.is_empty() || text.windows(pattern.len()).any(|w| w == pattern);
    }
    // Greedy matching with backtracking to the last star: linear in
    // practice and never exponential.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_descriptions_and_plain_text_anywhere() {
        assert!(matches_pattern("landcover", "export_LandCover_2020"));
        assert!(!matches_pattern("landcover", "ndvi"));
        assert!(matches_pattern("ndvi_*_20??", "NDVI_kenya_2021"));
        assert!(!matches_pattern("ndvi_*_20??", "ndvi_kenya_2021_b"));
        assert!(matches_pattern("*", ""));
        assert!(matches_pattern("a*b*c", "aXXbYYbc"));
        assert!(!matches_pattern("a*b*c", "aXXbYYb"));
    }
}
