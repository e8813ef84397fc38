//! An oracle for the property tests and the fuzz targets: what a correct
//! expansion looks like, checked apart from the code that expands.

use super::PathTemplate;
use crate::percent;

impl PathTemplate {
    /// What each segment of a path expanded from this template must
    /// percent-decode to, in order (the verb left out): the literals as
    /// written and each variable's value, one segment for a single-segment
    /// variable, one per `/`-separated piece otherwise. An oracle for the
    /// property tests and the fuzz targets, written apart from `expand`.
    pub(crate) fn expected_segments(
        &self,
        value_of: &dyn Fn(&str) -> Option<String>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let mut index = 0;
        while let Some(segment) = self.segments.get(index) {
            match self.variables.iter().find(|v| v.range.start == index) {
                Some(variable) => {
                    let value = value_of(&variable.field_path).unwrap_or_default();
                    if variable.single {
                        out.push(value);
                    } else {
                        out.extend(value.split('/').map(str::to_owned));
                    }
                    index = variable.range.end;
                }
                None => {
                    out.push(segment.to_string());
                    index += 1;
                }
            }
        }
        out
    }
}

/// Checks that `path`, which `template` expanded from `value` (every
/// variable set to it), addresses exactly that value: only printable
/// ASCII and no unencoded `?` or `#`; no empty or dot segment, raw or
/// decoded; each segment decodes to the literal or the piece of the value
/// it stands for; and matching the path gives the value back.
pub(crate) fn check_expansion(
    template: &PathTemplate,
    value: &str,
    path: &str,
) -> Result<(), String> {
    let context = format!("{} with {value:?} gave {path:?}", template.as_str());
    let fail = |what: &str| Err(format!("{what}: {context}"));
    if !path
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#'))
    {
        return fail("unencoded byte in the path");
    }
    let bare = match template.verb() {
        Some(verb) => match path.strip_suffix(verb).and_then(|p| p.strip_suffix(':')) {
            Some(bare) => bare,
            None => return fail("the verb is missing"),
        },
        None => path,
    };
    let Some(bare) = bare.strip_prefix('/') else {
        return fail("no leading '/'");
    };
    let mut decoded = Vec::new();
    for segment in bare.split('/') {
        if matches!(segment, "" | "." | "..") {
            return fail("empty or dot segment");
        }
        match percent::decode(segment) {
            Some(text) if matches!(text.as_ref(), "." | "..") => {
                return fail("a segment decodes to a dot segment");
            }
            Some(text) => decoded.push(text),
            None => return fail("bad escape"),
        }
    }
    if decoded != template.expected_segments(&|_| Some(value.to_owned())) {
        return fail("a segment decodes to something else than the value's");
    }
    let expected: Vec<(String, String)> = template
        .variables()
        .into_iter()
        .map(|field| (field.to_owned(), value.to_owned()))
        .collect();
    if template.matches(path) != Some(expected) {
        return fail("matching does not give the value back");
    }
    Ok(())
}
