//! google.api.http path templates: parse, expand (client), match (server).
//!
//! The grammar is the one in `google/api/http.proto`:
//!
//! ```text
//! Template  = "/" Segments [ Verb ] ;
//! Segments  = Segment { "/" Segment } ;
//! Segment   = "*" | "**" | LITERAL | Variable ;
//! Variable  = "{" FieldPath [ "=" Segments ] "}" ;
//! FieldPath = IDENT { "." IDENT } ;
//! Verb      = ":" LITERAL ;
//! ```
//!
//! Two policies go beyond the text of http.proto, both so that a path cannot
//! be silently retargeted by an HTTP stack on the way: `*` and `**` only match
//! non-empty segments, and `.` / `..` segments are refused on both sides.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use crate::percent::{self, COMPONENT};

/// Characters accepted in template literals and verbs: unreserved characters
/// and the sub-delimiters that are legal, unencoded, in a path segment.
fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()+,;=@".contains(c)
}

/// A parsed path template such as `/v1/{name=projects/*/operations/**}:cancel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PathTemplate {
    /// The template as written.
    text: String,
    /// Every path segment, with each variable's pattern inlined where the
    /// variable stands, so that matching is one pass over one list.
    segments: Vec<Segment>,
    /// The variables in order, each covering a range of `segments`.
    variables: Vec<Variable>,
    /// The custom verb, without its leading `:`.
    verb: Option<String>,
}

/// One segment of a template path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// Text that must appear as written.
    Literal(String),
    /// `*`: exactly one non-empty segment.
    Star,
    /// `**`: zero or more non-empty segments (always the last segment).
    DoubleStar,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Literal(literal) => f.write_str(literal),
            Segment::Star => f.write_str("*"),
            Segment::DoubleStar => f.write_str("**"),
        }
    }
}

/// Displays a run of segments joined with `/`, as they appear in a template.
struct Pattern<'a>(&'a [Segment]);

impl fmt::Display for Pattern<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, segment) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("/")?;
            }
            write!(f, "{segment}")?;
        }
        Ok(())
    }
}

/// A `{field.path=pattern}` variable.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Variable {
    /// The request field it binds, e.g. `name` or `nested.label`.
    field_path: String,
    /// Which of the template's segments form its pattern.
    range: Range<usize>,
    /// True when the pattern is one `*` or one literal: the value is then a
    /// single segment and a `/` inside it is encoded as `%2F`.
    single: bool,
}

/// Why a template or a value was refused; Display gives a clear message that
/// names the template (and the value, for expansion errors).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TemplateError {
    /// The complete, human-readable message.
    message: String,
}

impl TemplateError {
    /// A template that does not follow the grammar.
    fn invalid(template: &str, reason: impl fmt::Display) -> Self {
        Self {
            message: format!("invalid path template {template:?}: {reason}"),
        }
    }

    /// A variable's value that cannot be placed in the template.
    fn mismatch(template: &str, value: &str, reason: impl fmt::Display) -> Self {
        Self {
            message: format!("{value:?} does not match {template}: {reason}"),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateError {}

impl PathTemplate {
    /// Parses a template such as `/v1/{name=projects/*}/operations`.
    pub(crate) fn parse(template: &str) -> Result<Self, TemplateError> {
        let (path, verb) = split_verb(template);
        if let Some(verb) = verb {
            check_literal(verb).map_err(|reason| {
                TemplateError::invalid(template, format!("bad verb {verb:?}: {reason}"))
            })?;
        }
        let mut parser = Parser {
            template,
            rest: path,
            segments: Vec::new(),
            variables: Vec::new(),
        };
        parser.parse_path()?;
        let Parser {
            segments,
            variables,
            ..
        } = parser;
        check_double_star(template, &segments)?;
        check_unique(template, &variables)?;
        Ok(Self {
            text: template.to_owned(),
            segments,
            variables,
            verb: verb.map(str::to_owned),
        })
    }

    /// The template as it was written.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether one of the variables is bound to `field_path`.
    pub(crate) fn has_variable(&self, field_path: &str) -> bool {
        self.variables
            .iter()
            .any(|variable| variable.field_path == field_path)
    }

    /// The variables' field paths, in order, e.g. `["name"]`.
    pub(crate) fn variables(&self) -> Vec<&str> {
        self.variables
            .iter()
            .map(|variable| variable.field_path.as_str())
            .collect()
    }

    /// The custom verb (`cancel` in `...:cancel`), if any.
    pub(crate) fn verb(&self) -> Option<&str> {
        self.verb.as_deref()
    }

    /// Client side: builds the percent-encoded path (no query string).
    /// `value_of(field_path)` returns the variable's value; None or an empty
    /// string is an error.
    pub(crate) fn expand(
        &self,
        value_of: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, TemplateError> {
        self.expand_borrowed(&|path| value_of(path).map(Cow::Owned))
    }

    /// [`Self::expand`] for values that exist already: none is copied.
    pub(crate) fn expand_borrowed<'v>(
        &self,
        value_of: &dyn Fn(&str) -> Option<Cow<'v, str>>,
    ) -> Result<String, TemplateError> {
        // Room for the literals and a typical resource name: one allocation
        // for most paths.
        let mut out = String::with_capacity(self.text.len() + 64);
        let mut variables = self.variables.iter().peekable();
        let mut index = 0;
        while let Some(segment) = self.segments.get(index) {
            if let Some(variable) = variables.next_if(|v| v.range.start == index) {
                self.expand_variable(variable, value_of, &mut out)?;
                index = variable.range.end;
                continue;
            }
            match segment {
                Segment::Literal(literal) => {
                    out.push('/');
                    out.push_str(literal);
                }
                // Nothing in the request says what an unnamed wildcard is.
                Segment::Star | Segment::DoubleStar => {
                    return Err(TemplateError {
                        message: format!(
                            "cannot expand {}: its {segment} segment is not bound to a field",
                            self.text
                        ),
                    });
                }
            }
            index += 1;
        }
        if let Some(verb) = &self.verb {
            out.push(':');
            out.push_str(verb);
        }
        Ok(out)
    }

    /// Server side: matches a raw (still percent-encoded) request path without
    /// its query, and returns each variable's decoded value, in order, as
    /// `(field_path, value)`. None when it does not match.
    pub(crate) fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let path = match &self.verb {
            Some(verb) => path.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => path,
        };
        let pieces: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        let ranges = match_segments(&self.segments, &pieces)?;
        // Every wildcard-matched piece, bound or not, must decode cleanly and
        // must not be a dot segment.
        for (segment, range) in self.segments.iter().zip(&ranges) {
            if !matches!(segment, Segment::Literal(_)) {
                for piece in pieces.get(range.clone())? {
                    decode_piece(piece, true)?;
                }
            }
        }
        self.variables
            .iter()
            .map(|variable| {
                let value = capture(variable, &ranges, &pieces)?;
                Some((variable.field_path.clone(), value))
            })
            .collect()
    }

    /// What each segment of a path expanded from this template must
    /// percent-decode to, in order (the verb left out): the literals as
    /// written and each variable's value, one segment for a single-segment
    /// variable, one per `/`-separated piece otherwise. An oracle for the
    /// property tests and the fuzz targets, written apart from `expand`.
    #[cfg(any(test, fuzzing))]
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

    /// Appends one variable's encoded value to `out`.
    fn expand_variable<'v>(
        &self,
        variable: &Variable,
        value_of: &dyn Fn(&str) -> Option<Cow<'v, str>>,
        out: &mut String,
    ) -> Result<(), TemplateError> {
        let value = value_of(&variable.field_path)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| TemplateError {
                message: format!(
                    "no value for {:?} in {}: the field is unset or empty",
                    variable.field_path, self.text
                ),
            })?;
        let pattern = self
            .segments
            .get(variable.range.clone())
            .unwrap_or_default();
        // Enough unless bytes need escaping.
        out.reserve(value.len());
        let result = match pattern {
            [segment] if variable.single => expand_single(segment, &value, out),
            _ => expand_multi(pattern, &value, out),
        };
        result.map_err(|reason| TemplateError::mismatch(&self.text, &value, reason))
    }
}

/// Splits off the verb: the text after the last `:` that follows the last
/// `/` or `}` (a `:` earlier than that belongs to the path and is refused).
fn split_verb(template: &str) -> (&str, Option<&str>) {
    let tail_start = template.rfind(['/', '}']).map_or(0, |at| at + 1);
    match template.get(tail_start..).and_then(|tail| tail.rfind(':')) {
        Some(at) => {
            let colon = tail_start + at;
            (&template[..colon], Some(&template[colon + 1..]))
        }
        None => (template, None),
    }
}

/// Refuses literals that an HTTP stack could alter or misread.
fn check_literal(literal: &str) -> Result<(), String> {
    if literal.is_empty() {
        return Err("it is empty".to_owned());
    }
    if literal == "." || literal == ".." {
        return Err(format!("{literal:?} segments are not allowed"));
    }
    match literal.chars().find(|&c| !is_literal_char(c)) {
        Some('*') => Err("'*' must be a whole segment".to_owned()),
        Some(c) => Err(format!("{c:?} is not allowed in a literal")),
        None => Ok(()),
    }
}

/// `**` must be the very last segment, which also allows it only once.
fn check_double_star(template: &str, segments: &[Segment]) -> Result<(), TemplateError> {
    let last = segments.len().saturating_sub(1);
    let misplaced = segments
        .iter()
        .enumerate()
        .any(|(index, segment)| *segment == Segment::DoubleStar && index != last);
    if misplaced {
        return Err(TemplateError::invalid(
            template,
            "'**' may only be the last segment",
        ));
    }
    Ok(())
}

/// A field bound twice would make expansion and matching ambiguous.
fn check_unique(template: &str, variables: &[Variable]) -> Result<(), TemplateError> {
    for (index, variable) in variables.iter().enumerate() {
        let earlier = variables.get(..index).unwrap_or_default();
        if earlier.iter().any(|v| v.field_path == variable.field_path) {
            return Err(TemplateError::invalid(
                template,
                format!("field {:?} is bound twice", variable.field_path),
            ));
        }
    }
    Ok(())
}

/// A field path is dot-separated identifiers: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_field_path(text: &str) -> bool {
    text.split('.').all(|ident| {
        let mut chars = ident.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Recursive-descent parser over the template's path (the verb is split off
/// beforehand).
struct Parser<'a> {
    /// The whole template, for error messages.
    template: &'a str,
    /// What remains to be parsed.
    rest: &'a str,
    /// Segments parsed so far.
    segments: Vec<Segment>,
    /// Variables parsed so far.
    variables: Vec<Variable>,
}

impl Parser<'_> {
    /// An error about this template.
    fn fail(&self, reason: impl fmt::Display) -> TemplateError {
        TemplateError::invalid(self.template, reason)
    }

    /// Consumes `c` if it comes next.
    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// Describes what comes next, for "expected ..." messages.
    fn unexpected(&self) -> TemplateError {
        match self.rest.chars().next() {
            None => self.fail("unexpected end (unbalanced '{')"),
            Some('}') => self.fail("unbalanced '}'"),
            Some(c) => self.fail(format!("unexpected {c:?}")),
        }
    }

    /// `"/" Segments`, and nothing after.
    fn parse_path(&mut self) -> Result<(), TemplateError> {
        if !self.eat('/') {
            return Err(self.fail("it must start with '/'"));
        }
        self.parse_segments(false)?;
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// `Segment { "/" Segment }`.
    fn parse_segments(&mut self, in_variable: bool) -> Result<(), TemplateError> {
        loop {
            self.parse_segment(in_variable)?;
            if !self.eat('/') {
                return Ok(());
            }
        }
    }

    /// One `*`, `**`, literal or (outside variables) variable.
    fn parse_segment(&mut self, in_variable: bool) -> Result<(), TemplateError> {
        if self.rest.starts_with('{') {
            if in_variable {
                return Err(self.fail("variables cannot be nested"));
            }
            return self.parse_variable();
        }
        let end = self
            .rest
            .find(['/', '{', '}', ':'])
            .unwrap_or(self.rest.len());
        let (text, rest) = self.rest.split_at(end);
        let segment = match text {
            "" => return Err(self.fail("empty segment")),
            "*" => Segment::Star,
            "**" => Segment::DoubleStar,
            _ => {
                check_literal(text)
                    .map_err(|reason| self.fail(format!("bad literal {text:?}: {reason}")))?;
                Segment::Literal(text.to_owned())
            }
        };
        self.rest = rest;
        self.segments.push(segment);
        Ok(())
    }

    /// `"{" FieldPath [ "=" Segments ] "}"`; no pattern means `*`.
    fn parse_variable(&mut self) -> Result<(), TemplateError> {
        self.eat('{');
        let end = self
            .rest
            .find(['=', '}'])
            .ok_or_else(|| self.fail("unbalanced '{'"))?;
        let (field_path, rest) = self.rest.split_at(end);
        if !is_field_path(field_path) {
            return Err(self.fail(format!("bad field path {field_path:?}")));
        }
        self.rest = rest;
        let start = self.segments.len();
        if self.eat('=') {
            self.parse_segments(true)?;
        } else {
            self.segments.push(Segment::Star);
        }
        if !self.eat('}') {
            return Err(self.unexpected());
        }
        let range = start..self.segments.len();
        let single = matches!(
            self.segments.get(range.clone()),
            Some([Segment::Star | Segment::Literal(_)])
        );
        self.variables.push(Variable {
            field_path: field_path.to_owned(),
            range,
            single,
        });
        Ok(())
    }
}

/// Matches pieces (value pieces or raw path segments) against a pattern and
/// returns, for each pattern segment, the range of pieces it covers.
/// Relies on `**` being last, which the parser guarantees.
fn match_segments(pattern: &[Segment], pieces: &[&str]) -> Option<Vec<Range<usize>>> {
    let mut ranges = Vec::with_capacity(pattern.len());
    let mut next = 0;
    for segment in pattern {
        let start = next;
        match segment {
            Segment::Literal(literal) => {
                if pieces.get(next)? != literal {
                    return None;
                }
                next += 1;
            }
            Segment::Star => {
                if pieces.get(next)?.is_empty() {
                    return None;
                }
                next += 1;
            }
            Segment::DoubleStar => {
                if pieces.get(next..)?.iter().any(|piece| piece.is_empty()) {
                    return None;
                }
                next = pieces.len();
            }
        }
        ranges.push(start..next);
    }
    (next == pieces.len()).then_some(ranges)
}

/// Refuses value pieces that would vanish or be rewritten by dot-segment
/// removal in an HTTP stack.
fn check_piece(piece: &str) -> Result<(), String> {
    match piece {
        "" => Err("empty segments are not allowed".to_owned()),
        "." | ".." => Err(format!("{piece:?} segments are not allowed")),
        _ => Ok(()),
    }
}

/// Expands a one-segment variable: the whole value is one segment.
fn expand_single(pattern: &Segment, value: &str, out: &mut String) -> Result<(), String> {
    check_piece(value)?;
    match pattern {
        Segment::Literal(literal) if literal != value => Err(format!("expected {literal:?}")),
        Segment::Literal(literal) => {
            out.push('/');
            out.push_str(literal);
            Ok(())
        }
        Segment::Star | Segment::DoubleStar => {
            out.push('/');
            percent::encode_into(out, value, COMPONENT);
            Ok(())
        }
    }
}

/// Expands a multi-segment variable: the value's `/` stay separators.
fn expand_multi(pattern: &[Segment], value: &str, out: &mut String) -> Result<(), String> {
    let mut pieces = Vec::with_capacity(value.bytes().filter(|&byte| byte == b'/').count() + 1);
    pieces.extend(value.split('/'));
    pieces.iter().try_for_each(|piece| check_piece(piece))?;
    let ranges = match_segments(pattern, &pieces)
        .ok_or_else(|| format!("expected the form {}", Pattern(pattern)))?;
    for (segment, range) in pattern.iter().zip(ranges) {
        if let Segment::Literal(literal) = segment {
            out.push('/');
            out.push_str(literal);
            continue;
        }
        for piece in pieces.get(range).unwrap_or_default() {
            out.push('/');
            percent::encode_into(out, piece, COMPONENT);
        }
    }
    Ok(())
}

/// Percent-decodes one raw path segment; None on a bad escape, invalid UTF-8
/// or a (decoded) dot segment. With `keep_slash`, an encoded `/` stays the
/// text `%2F` so that it cannot add a segment to a multi-segment value.
fn decode_piece(piece: &str, keep_slash: bool) -> Option<String> {
    let decoded = if keep_slash && piece.contains("%2") {
        // Every `%` starts an escape in a well-formed piece, so each `%2F`
        // found here is one.
        let pieces: Option<Vec<_>> = piece
            .replace("%2f", "%2F")
            .split("%2F")
            .map(|part| percent::decode(part).map(Cow::into_owned))
            .collect();
        pieces?.join("%2F")
    } else {
        percent::decode(piece)?.into_owned()
    };
    check_piece(&decoded).ok()?;
    Some(decoded)
}

/// Builds one variable's decoded value from the pieces its segments matched.
fn capture(variable: &Variable, ranges: &[Range<usize>], pieces: &[&str]) -> Option<String> {
    let first = ranges.get(variable.range.start)?.start;
    let last = ranges.get(variable.range.end.checked_sub(1)?)?.end;
    let matched = pieces.get(first..last)?;
    match matched {
        [piece] if variable.single => decode_piece(piece, false),
        // An empty value could not have been sent by a conforming client.
        [] => None,
        _ => {
            let decoded: Option<Vec<String>> = matched
                .iter()
                .map(|piece| decode_piece(piece, true))
                .collect();
            Some(decoded?.join("/"))
        }
    }
}

/// An oracle for the property tests and the fuzz targets: what a correct
/// expansion looks like, checked apart from the code that expands.
#[cfg(any(test, fuzzing))]
pub(crate) mod oracle {
    use super::PathTemplate;
    use crate::percent;

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
                Some(text) => decoded.push(text.into_owned()),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a template that the test knows to be valid.
    fn template(text: &str) -> PathTemplate {
        PathTemplate::parse(text).expect("valid template")
    }

    /// Expands `text` with every variable set to `value`.
    fn expand(text: &str, value: &str) -> Result<String, TemplateError> {
        template(text).expand(&|_| Some(value.to_owned()))
    }

    const EE_GET: &str = "/v1/{name=projects/*/operations/**}";
    const EE_CANCEL: &str = "/v1/{name=projects/*/operations/**}:cancel";
    const EE_LIST: &str = "/v1/{name=projects/*}/operations";
    const GENERIC_GET: &str = "/v1/{name=operations/**}";
    const GENERIC_CANCEL: &str = "/v1/{name=operations/**}:cancel";
    const GENERIC_LIST: &str = "/v1/{name=operations}";

    #[test]
    fn parses_valid_templates() {
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            (EE_GET, &["name"], None),
            (EE_CANCEL, &["name"], Some("cancel")),
            (EE_LIST, &["name"], None),
            (GENERIC_LIST, &["name"], None),
            ("/v1/{name}", &["name"], None),
            ("/v1/{nested.label}/x:act", &["nested.label"], Some("act")),
            ("/v1/{a}/{b_2=x/*}/{c=**}", &["a", "b_2", "c"], None),
            ("/v1/*/things/**", &[], None),
            (
                "/v1beta/{name=projects/*/operations/**}:wait",
                &["name"],
                Some("wait"),
            ),
            ("/v1/a-b.c~d_e!$&'()+,;=@", &[], None),
        ];
        for &(text, variables, verb) in cases {
            let parsed = template(text);
            assert_eq!(parsed.as_str(), text);
            assert_eq!(parsed.variables(), variables, "{text}");
            assert_eq!(parsed.verb(), verb, "{text}");
        }
    }

    #[test]
    fn a_bare_variable_is_a_single_star() {
        assert_eq!(
            template("/v1/{name}").segments,
            template("/v1/{name=*}").segments
        );
    }

    #[test]
    fn refuses_invalid_templates() {
        let cases = [
            "",
            "v1/{name}",
            "/",
            "/v1/",
            "/v1//x",
            "/v1/{name",
            "/v1/{name=projects/*",
            "/v1/name}",
            "/v1/{name=projects/*}}",
            "/v1/{name=projects/{id}}",
            "/v1/{name={id}}",
            "/v1/**/x",
            "/v1/**/**",
            "/v1/{name=**}/x",
            "/v1/{name=a/**/b}",
            "/v1/{name=**}/{other}",
            "/v1/{}",
            "/v1/{=x}",
            "/v1/{name=}",
            "/v1/{name=a//b}",
            "/v1/{1name}",
            "/v1/{a..b}",
            "/v1/{a-b}",
            "/v1/{a}/{a=x/*}",
            "/v1/{name}:",
            "/v1/x:a:b",
            "/v1:x/y",
            "/v1/{name}:{verb}",
            "/v1/a b",
            "/v1/a*",
            "/v1/.",
            "/v1/../x",
            "/v1/caf\u{e9}",
            "/v1/100%25",
            "/v1/x?y",
        ];
        for text in cases {
            let error = PathTemplate::parse(text).expect_err(text);
            let message = error.to_string();
            assert!(message.contains(&format!("{text:?}")), "{message}");
        }
    }

    #[test]
    fn parse_errors_say_why() {
        let reason = |text: &str| PathTemplate::parse(text).expect_err(text).to_string();
        assert!(reason("/v1/{name=a/{b}}").contains("nested"));
        assert!(reason("/v1/{name").contains("unbalanced '{'"));
        assert!(reason("/v1/name}").contains("unbalanced '}'"));
        assert!(reason("/v1/**/x").contains("'**'"));
        assert!(reason("/v1//x").contains("empty segment"));
        assert!(reason("v1").contains("start with '/'"));
    }

    /// `(template, name, expected URI or None for a client error)`, taken from
    /// the shared conformance vectors (groups ee-v1, ee-v1beta, ee-v1alpha,
    /// generic-lro, additional-bindings and synthetic).
    const VECTORS: &[(&str, &str, Option<&str>)] = &[
        (
            EE_GET,
            "projects/my-project/operations/ABCDEFGHIJKLMNOP",
            Some("/v1/projects/my-project/operations/ABCDEFGHIJKLMNOP"),
        ),
        (
            EE_CANCEL,
            "projects/my-project/operations/ABCDEFGHIJKLMNOP",
            Some("/v1/projects/my-project/operations/ABCDEFGHIJKLMNOP:cancel"),
        ),
        (
            EE_CANCEL,
            "projects/google.com:my-project/operations/op",
            Some("/v1/projects/google.com%3Amy-project/operations/op:cancel"),
        ),
        (
            EE_CANCEL,
            "projects/p/operations/a b",
            Some("/v1/projects/p/operations/a%20b:cancel"),
        ),
        (
            EE_GET,
            "projects/p/operations/a?b#c",
            Some("/v1/projects/p/operations/a%3Fb%23c"),
        ),
        (
            EE_GET,
            "projects/p/operations/100%",
            Some("/v1/projects/p/operations/100%25"),
        ),
        (
            EE_GET,
            "projects/p/operations/a+b",
            Some("/v1/projects/p/operations/a%2Bb"),
        ),
        (
            EE_CANCEL,
            "projects/p/operations/caf\u{e9}-\u{fc}ber",
            Some("/v1/projects/p/operations/caf%C3%A9-%C3%BCber:cancel"),
        ),
        (
            EE_CANCEL,
            "projects/p/operations/a/b/c",
            Some("/v1/projects/p/operations/a/b/c:cancel"),
        ),
        (
            EE_GET,
            "projects/p/operations/x:cancel",
            Some("/v1/projects/p/operations/x%3Acancel"),
        ),
        (
            EE_GET,
            "projects/p/operations/!$&'()*+,;=@:[]",
            Some("/v1/projects/p/operations/%21%24%26%27%28%29%2A%2B%2C%3B%3D%40%3A%5B%5D"),
        ),
        (
            EE_GET,
            "projects/p/operations/\"<>\\^`{|}",
            Some("/v1/projects/p/operations/%22%3C%3E%5C%5E%60%7B%7C%7D"),
        ),
        (
            EE_GET,
            "projects/p/operations/\u{1F600}",
            Some("/v1/projects/p/operations/%F0%9F%98%80"),
        ),
        (
            EE_GET,
            "projects/p/operations/.hidden",
            Some("/v1/projects/p/operations/.hidden"),
        ),
        (EE_CANCEL, "projects/p/operations/../x", None),
        (EE_GET, "projects/p/operations/./x", None),
        (EE_GET, "projects/p/operations/x/..", None),
        (
            EE_GET,
            "projects/p/operations",
            Some("/v1/projects/p/operations"),
        ),
        (EE_GET, "operations/x", None),
        (EE_CANCEL, "operations/x", None),
        (EE_GET, "/projects/p/operations/x", None),
        (EE_GET, "Projects/p/operations/x", None),
        (
            "/v1/{name=projects/*/operations/**}:wait",
            "projects/p/operations",
            Some("/v1/projects/p/operations:wait"),
        ),
        (
            EE_LIST,
            "projects/my-project",
            Some("/v1/projects/my-project/operations"),
        ),
        (
            EE_LIST,
            "projects/google.com:my-project",
            Some("/v1/projects/google.com%3Amy-project/operations"),
        ),
        (
            EE_LIST,
            "projects/a b",
            Some("/v1/projects/a%20b/operations"),
        ),
        (EE_LIST, "projects/p/", None),
        (EE_LIST, "projects/", None),
        (EE_LIST, "projects", None),
        (EE_LIST, "", None),
        (
            "/v1beta/{name=projects/*/operations/**}:cancel",
            "projects/p/operations/../x",
            None,
        ),
        (
            "/v1beta/{name=projects/*/operations/**}",
            "projects/p/operations/a/b/c",
            Some("/v1beta/projects/p/operations/a/b/c"),
        ),
        (
            "/v1alpha/{name=projects/*/operations/**}",
            "projects/p/operations",
            Some("/v1alpha/projects/p/operations"),
        ),
        (
            "/v1alpha/{name=projects/*/operations/**}",
            "projects/google.com:my-project/operations/op",
            Some("/v1alpha/projects/google.com%3Amy-project/operations/op"),
        ),
        (
            GENERIC_GET,
            "operations/abc123",
            Some("/v1/operations/abc123"),
        ),
        (
            GENERIC_CANCEL,
            "operations/a b:c",
            Some("/v1/operations/a%20b%3Ac:cancel"),
        ),
        (GENERIC_CANCEL, "operations", Some("/v1/operations:cancel")),
        (GENERIC_GET, "projects/p/operations/x", None),
        (GENERIC_GET, "operations/../secret", None),
        (GENERIC_CANCEL, "operations/../secret", None),
        (GENERIC_GET, "Operations/x", None),
        (GENERIC_LIST, "operations", Some("/v1/operations")),
        (GENERIC_LIST, "operations/x", None),
        (GENERIC_LIST, "operationsX", None),
        (GENERIC_LIST, "", None),
        (
            "/v1/{name=**}",
            "anything/else entirely",
            Some("/v1/anything/else%20entirely"),
        ),
        ("/v1/{name}", "a/b", Some("/v1/a%2Fb")),
        ("/v1/{name}", "a b:c@d", Some("/v1/a%20b%3Ac%40d")),
        ("/v1/{name=things/*}", "things/a/b", None),
        (
            "/v1/{name=things/*}:act",
            "things/x",
            Some("/v1/things/x:act"),
        ),
    ];

    #[test]
    fn expands_the_conformance_vectors() {
        for &(text, value, expected) in VECTORS {
            let actual = expand(text, value).ok();
            assert_eq!(actual.as_deref(), expected, "{text} with {value:?}");
        }
    }

    #[test]
    fn expands_the_first_matching_binding() {
        let bindings = [template(EE_GET), template(GENERIC_GET)];
        let first = |value: &str| {
            bindings
                .iter()
                .find_map(|binding| binding.expand(&|_| Some(value.to_owned())).ok())
        };
        assert_eq!(
            first("projects/p/operations/x").as_deref(),
            Some("/v1/projects/p/operations/x")
        );
        assert_eq!(first("operations/x").as_deref(), Some("/v1/operations/x"));
        assert_eq!(first("other/x"), None);
    }

    #[test]
    fn never_decodes_the_value_first() {
        assert_eq!(
            expand(GENERIC_GET, "operations/a%2Fb").expect("expands"),
            "/v1/operations/a%252Fb"
        );
        assert_eq!(expand("/v1/{name}", "%41").expect("expands"), "/v1/%2541");
    }

    #[test]
    fn single_segment_variables() {
        assert_eq!(
            expand("/v1/{name=*}", "a/b/c").expect("expands"),
            "/v1/a%2Fb%2Fc"
        );
        assert_eq!(expand("/v1/{name}", "..a").expect("expands"), "/v1/..a");
        assert!(expand("/v1/{name}", ".").is_err());
        assert!(expand("/v1/{name}", "..").is_err());
        assert!(expand(GENERIC_LIST, "Operations").is_err());
        assert_eq!(
            expand(GENERIC_LIST, "operations").expect("expands"),
            "/v1/operations"
        );
    }

    #[test]
    fn mismatch_names_the_template_and_the_value() {
        let error = expand(EE_GET, "projects/p/../x").expect_err("dot segments");
        assert_eq!(
            error.to_string(),
            "\"projects/p/../x\" does not match /v1/{name=projects/*/operations/**}: \
             \"..\" segments are not allowed"
        );
        let error = expand(GENERIC_GET, "Operations/x").expect_err("case-sensitive");
        let message = error.to_string();
        assert!(message.contains(GENERIC_GET), "{message}");
        assert!(message.contains("\"Operations/x\""), "{message}");
        assert!(message.contains("operations/**"), "{message}");
        let error = expand(EE_LIST, "projects/").expect_err("empty id");
        assert!(error.to_string().contains("empty segments"), "{error}");
    }

    #[test]
    fn missing_or_empty_values_are_errors() {
        let parsed = template(EE_GET);
        for value in [None, Some(String::new())] {
            let error = parsed.expand(&|_| value.clone()).expect_err("no value");
            let message = error.to_string();
            assert!(message.contains(EE_GET), "{message}");
            assert!(message.contains("\"name\""), "{message}");
        }
    }

    #[test]
    fn expands_each_field_by_its_path() {
        let parsed = template("/v1/{parent=projects/*}/things/{nested.label}:act");
        let value_of = |field: &str| match field {
            "parent" => Some("projects/p".to_owned()),
            "nested.label" => Some("l 1".to_owned()),
            _ => None,
        };
        assert_eq!(
            parsed.expand(&value_of).expect("expands"),
            "/v1/projects/p/things/l%201:act"
        );
    }

    #[test]
    fn unbound_wildcards_cannot_be_expanded() {
        let error = expand("/v1/*/x", "v").expect_err("unbound");
        assert!(error.to_string().contains("/v1/*/x"), "{error}");
    }

    /// Expands `value` into `text`, matches the result and checks that every
    /// variable comes back unchanged.
    fn assert_round_trip(text: &str, value: &str) {
        let parsed = template(text);
        let path = parsed.expand(&|_| Some(value.to_owned())).expect("expands");
        let expected: Vec<(String, String)> = parsed
            .variables()
            .into_iter()
            .map(|field| (field.to_owned(), value.to_owned()))
            .collect();
        assert_eq!(
            parsed.matches(&path),
            Some(expected),
            "{text} {value:?} {path}"
        );
    }

    #[test]
    fn round_trips_multi_segment_values() {
        let values = [
            "projects/p/operations/x",
            "projects/p/operations",
            "projects/google.com:my-project/operations/a b",
            "projects/p/operations/100%",
            "projects/p/operations/a%2Fb",
            "projects/p/operations/a%2fb%25",
            "projects/p/operations/caf\u{e9}/\u{1F600}/x:cancel",
            "projects/\u{65e5}\u{672c}/operations/.hidden/..x/...",
            "projects/p/operations/a?b#c&d=e+f~g",
            "projects/p/operations/\"<>\\^`{|}[]",
        ];
        for value in values {
            assert_round_trip(EE_GET, value);
            assert_round_trip(EE_CANCEL, value);
        }
        assert_round_trip(GENERIC_CANCEL, "operations");
        assert_round_trip("/v1/{name=**}", "a/b%/c d");
    }

    #[test]
    fn round_trips_single_segment_values() {
        let values = [
            "a/b",
            "/leading",
            "trailing/",
            "%",
            "a%2Fb",
            ":cancel",
            "x:cancel",
            "\u{65e5}\u{672c}\u{8a9e} text",
            "..a",
            "a/..",
            "\u{1F600}",
        ];
        for value in values {
            assert_round_trip("/v1/{name}", value);
            assert_round_trip("/v1/{name}:cancel", value);
            assert_round_trip("/v1/{a}/x/{b=*}", value);
        }
        assert_round_trip(GENERIC_LIST, "operations");
    }

    #[test]
    fn matches_raw_paths() {
        let pair = |value: &str| Some(vec![("name".to_owned(), value.to_owned())]);
        let cancel = template(EE_CANCEL);
        assert_eq!(
            cancel.matches("/v1/projects/p/operations/a%20b/c:cancel"),
            pair("projects/p/operations/a b/c")
        );
        assert_eq!(
            cancel.matches("/v1/projects/p/operations/a%2Fb:cancel"),
            pair("projects/p/operations/a%2Fb")
        );
        assert_eq!(
            cancel.matches("/v1/projects/p/operations/a%2fb:cancel"),
            pair("projects/p/operations/a%2Fb")
        );
        assert_eq!(
            cancel.matches("/v1/projects/p/operations:cancel"),
            pair("projects/p/operations")
        );
        assert_eq!(cancel.matches("/v1/projects/p/operations/x"), None);
        assert_eq!(cancel.matches("/v1/projects/p/operations/x:wait"), None);
        assert_eq!(cancel.matches("/v1/projects/p/operations/x/:cancel"), None);
        assert_eq!(cancel.matches("/v1/projects//operations/x:cancel"), None);
        assert_eq!(cancel.matches("/v1/Projects/p/operations/x:cancel"), None);
        assert_eq!(cancel.matches("v1/projects/p/operations/x:cancel"), None);

        let single = template("/v1/{name}");
        assert_eq!(single.matches("/v1/a%2Fb"), pair("a/b"));
        assert_eq!(single.matches("/v1/caf%C3%A9"), pair("caf\u{e9}"));
        assert_eq!(single.matches("/v1/caf\u{e9}"), pair("caf\u{e9}"));
        assert_eq!(single.matches("/v1/a/b"), None);
        assert_eq!(single.matches("/v1/"), None);
        assert_eq!(single.matches("/v1"), None);

        let unbound = template("/v1/*/things/**");
        assert_eq!(unbound.matches("/v1/x/things"), Some(Vec::new()));
        assert_eq!(unbound.matches("/v1/x/things/a/b"), Some(Vec::new()));
        assert_eq!(unbound.matches("/v1/x/things/a/%2E%2E"), None);
    }

    #[test]
    fn matches_refuses_dots_and_bad_escapes() {
        let get = template(EE_GET);
        let single = template("/v1/{name}");
        let bad = [
            "..",
            ".",
            "%2E%2E",
            "%2e",
            "%G1",
            "%2",
            "%",
            "a%",
            "%FF",
            "%C3",
            "%C3%28",
            "%ED%A0%80",
        ];
        for piece in bad {
            assert_eq!(single.matches(&format!("/v1/{piece}")), None, "{piece}");
            let path = format!("/v1/projects/p/operations/{piece}");
            assert_eq!(get.matches(&path), None, "{piece}");
            let path = format!("/v1/projects/p/operations/{piece}/x");
            assert_eq!(get.matches(&path), None, "{piece}");
        }
        assert_eq!(template("/v1/{name=**}").matches("/v1"), None);
    }

    #[test]
    fn never_panics() -> Result<(), Box<dyn std::error::Error>> {
        // A small linear congruential generator keeps the test deterministic.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |bound: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(state >> 33).unwrap_or_default() % bound
        };
        let parts = [
            "/v1",
            "/{name}",
            "/{a=*}",
            "/x",
            "/{b=p/*/q/**}",
            ":verb",
            "/**",
            "/*",
            "/{c=lit}",
            "{",
            "}",
            "/",
            ":",
            "=",
            "/{d=**}",
            "%",
            "\u{e9}",
        ];
        let chars = [
            '/',
            '%',
            '2',
            'F',
            'f',
            'G',
            '.',
            ':',
            'a',
            ' ',
            '\u{e9}',
            '\u{1F600}',
            '{',
            '?',
        ];
        for _ in 0..20_000 {
            let text: String = (0..next(6))
                .filter_map(|_| parts.get(next(parts.len())))
                .copied()
                .collect();
            let value: String = (0..next(12))
                .filter_map(|_| chars.get(next(chars.len())))
                .collect();
            let Ok(parsed) = PathTemplate::parse(&text) else {
                continue;
            };
            let _ = parsed.matches(&value);
            let _ = parsed.matches(&format!("/v1/{value}"));
            if let Ok(path) = parsed.expand(&|_| Some(value.clone())) {
                let matched = parsed.matches(&path).ok_or("expansion does not match")?;
                assert!(matched.iter().all(|(_, v)| *v == value), "{text} {value:?}");
            }
        }
        Ok(())
    }
}

/// Property tests over generated resource names and the built-in route
/// tables.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::oracle::check_expansion;
    use super::*;
    use crate::routes::{ApiVersion, Routes, Rpc};

    /// One resource-name segment: never empty, `.` nor `..`, and otherwise
    /// anything without `/`: arbitrary Unicode, the characters a URL gives a
    /// meaning to (`%`, `?`, `#`, `:`...), and dots.
    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            "[^/]{1,12}",
            "[%?#:;=&+@!$'()*,\\[\\]{}|\\\\^`\"<> a-zA-Z0-9_~-]{1,10}",
            "%[0-9a-fA-F]{2}|%2[eEfF]|%25[0-9A-F]{0,2}|%|%[G-Zg-z]{1,2}",
            "\\.{3,5}|\\.[^/.]{1,4}|[^/.]{1,4}\\.|\\.\\.[^/.]{1,3}",
            "[\\u{80}-\\u{10FFFF}]{1,4}",
        ]
        .prop_filter("not a dot segment", |s| s != "." && s != "..")
    }

    /// Several segments joined with `/`.
    fn segments(max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(segment(), 1..=max).prop_map(|parts| parts.join("/"))
    }

    /// An Earth Engine operation name: `projects/P/operations/ID[/...]`,
    /// or the bare `projects/P/operations` the `**` also accepts.
    fn earth_engine_operation() -> impl Strategy<Value = String> {
        (segment(), prop::option::of(segments(4))).prop_map(|(project, id)| match id {
            Some(id) => format!("projects/{project}/operations/{id}"),
            None => format!("projects/{project}/operations"),
        })
    }

    /// A generic operation name: `operations[/...]`.
    fn generic_operation() -> impl Strategy<Value = String> {
        prop::option::of(segments(4)).prop_map(|id| match id {
            Some(id) => format!("operations/{id}"),
            None => "operations".to_owned(),
        })
    }

    /// Any text at all that may be given as a name, including empty, dot and
    /// doubled-slash segments, leading and trailing `/`, and percent escapes.
    fn any_name() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            3 => segment(),
            1 => Just(String::new()),
            1 => Just(".".to_owned()),
            1 => Just("..".to_owned()),
            1 => Just("%2E%2E".to_owned()),
            1 => Just("%2F".to_owned()),
            1 => Just("projects".to_owned()),
            1 => Just("operations".to_owned()),
        ];
        prop_oneof![
            "\\PC{0,24}",
            ".{0,24}",
            prop::collection::vec(piece, 0..7).prop_map(|parts| parts.join("/")),
            earth_engine_operation().prop_map(|name| format!("/{name}")),
            earth_engine_operation().prop_map(|name| format!("{name}/")),
        ]
    }

    /// Every binding of every built-in table.
    fn every_binding() -> Vec<(Rpc, PathTemplate)> {
        ApiVersion::ALL
            .into_iter()
            .map(Routes::earth_engine)
            .chain([Routes::generic()])
            .flat_map(|routes| {
                Rpc::ALL
                    .into_iter()
                    .flat_map(|rpc| {
                        routes
                            .rules(rpc)
                            .iter()
                            .map(|rule| (rpc, rule.template.clone()))
                            .collect::<Vec<_>>()
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Expands `name` into `template`; the expansion must succeed and match
    /// back to exactly `name`.
    fn round_trip(template: &PathTemplate, name: &str) -> Result<(), TestCaseError> {
        let path = template
            .expand(&|_| Some(name.to_owned()))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            template.matches(&path),
            Some(vec![("name".to_owned(), name.to_owned())]),
            "{} {:?} {}",
            template.as_str(),
            name,
            path
        );
        check_expansion(template, name, &path).map_err(TestCaseError::fail)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// (a) Every Earth Engine operation name expands onto Get, Cancel,
        /// Delete and Wait of every version and matches back to itself.
        #[test]
        fn earth_engine_operation_names_round_trip(name in earth_engine_operation()) {
            for version in ApiVersion::ALL {
                let routes = Routes::earth_engine(version);
                for rpc in [Rpc::GetOperation, Rpc::CancelOperation, Rpc::DeleteOperation, Rpc::WaitOperation] {
                    for rule in routes.rules(rpc) {
                        round_trip(&rule.template, &name)?;
                    }
                }
            }
        }

        /// (a) Every project name expands onto every version's List.
        #[test]
        fn earth_engine_parents_round_trip(project in segment()) {
            let name = format!("projects/{project}");
            for version in ApiVersion::ALL {
                for rule in Routes::earth_engine(version).rules(Rpc::ListOperations) {
                    round_trip(&rule.template, &name)?;
                }
            }
        }

        /// (a) Every generic operation name expands onto the generic Get,
        /// Cancel and Delete and matches back to itself.
        #[test]
        fn generic_operation_names_round_trip(name in generic_operation()) {
            let routes = Routes::generic();
            for rpc in [Rpc::GetOperation, Rpc::CancelOperation, Rpc::DeleteOperation] {
                for rule in routes.rules(rpc) {
                    round_trip(&rule.template, &name)?;
                }
            }
        }

        /// (a) A single-segment variable takes any value at all but the
        /// empty string, `.` and `..`, `/` included.
        #[test]
        fn single_segment_values_round_trip(value in any_name()) {
            let template = PathTemplate::parse("/v1/{name}:act").map_err(|e| TestCaseError::fail(e.to_string()))?;
            match template.expand(&|_| Some(value.clone())) {
                Ok(_) => round_trip(&template, &value)?,
                Err(_) => prop_assert!(matches!(value.as_str(), "" | "." | "..")),
            }
        }

        /// (b) Whatever the name, each binding either refuses it or gives a
        /// path that addresses exactly it.
        #[test]
        fn no_expansion_addresses_another_resource(name in any_name()) {
            for (_, template) in every_binding() {
                if let Ok(path) = template.expand(&|_| Some(name.clone())) {
                    check_expansion(&template, &name, &path).map_err(TestCaseError::fail)?;
                }
            }
        }

        /// (b) Names with an empty, `.` or `..` segment are refused by every
        /// multi-segment binding.
        #[test]
        fn dot_and_empty_segments_are_refused(
            before in segments(3),
            bad in prop_oneof![Just(""), Just("."), Just("..")],
            after in prop::option::of(segments(2)),
        ) {
            let name = match after {
                Some(after) => format!("{before}/{bad}/{after}"),
                None => format!("{before}/{bad}"),
            };
            for (_, template) in every_binding() {
                prop_assert!(
                    template.expand(&|_| Some(name.clone())).is_err(),
                    "{} accepted {:?}",
                    template.as_str(),
                    name
                );
            }
        }

        /// Matching never panics on arbitrary raw paths, and whatever it
        /// accepts expands back to a path it accepts with the same value.
        #[test]
        fn matching_arbitrary_paths_is_consistent(tail in "[/%a-zA-Z0-9.:\\u{e9}]{0,30}") {
            for (_, template) in every_binding() {
                for path in [format!("/v1/{tail}"), format!("/v1/projects/p/operations/{tail}"), tail.clone()] {
                    if let Some(values) = template.matches(&path) {
                        let [(_, value)] = values.as_slice() else {
                            return Err(TestCaseError::fail("one variable per binding"));
                        };
                        let again = template
                            .expand(&|_| Some(value.clone()))
                            .map_err(|e| TestCaseError::fail(format!("{path:?}: {e}")))?;
                        check_expansion(&template, value, &again).map_err(TestCaseError::fail)?;
                    }
                }
            }
        }
    }
}
