//! Parsing a template: a recursive-descent parser over the grammar, and the
//! checks that keep literals, `**` and field bindings unambiguous.

use std::fmt;

use super::{PathTemplate, Segment, TemplateError, Variable};

/// Characters accepted in template literals and verbs: unreserved characters
/// and the sub-delimiters that are legal, unencoded, in a path segment.
fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()+,;=@".contains(c)
}

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
