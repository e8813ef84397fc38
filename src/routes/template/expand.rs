//! Expansion, on the client: a request's field values placed into the
//! template, percent-encoded, each value checked against its variable's
//! pattern.

use std::borrow::Cow;

use super::{PathTemplate, Pattern, Segment, TemplateError, Variable, check_piece, match_segments};
use crate::percent::{self, COMPONENT};

impl PathTemplate {
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

    /// Whether `value` may stand for the variable bound to `field_path`:
    /// `Err` with the reason (the form expected, or the segment refused)
    /// when it may not; `Ok` too when no variable is bound to it.
    pub(crate) fn fits(&self, field_path: &str, value: &str) -> Result<(), String> {
        let Some(variable) = self
            .variables
            .iter()
            .find(|variable| variable.field_path == field_path)
        else {
            return Ok(());
        };
        let pattern = self
            .segments
            .get(variable.range.clone())
            .unwrap_or_default();
        // Checked as expanding would check it, without writing anything.
        match pattern {
            [segment] if variable.single => single_fits(segment, value),
            _ => multi_pieces(pattern, value).map(drop),
        }
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

/// Whether a one-segment variable's value fits its segment.
fn single_fits(pattern: &Segment, value: &str) -> Result<(), String> {
    check_piece(value)?;
    match pattern {
        Segment::Literal(literal) if literal != value => Err(format!("expected {literal:?}")),
        _ => Ok(()),
    }
}

/// Expands a one-segment variable: the whole value is one segment.
fn expand_single(pattern: &Segment, value: &str, out: &mut String) -> Result<(), String> {
    single_fits(pattern, value)?;
    match pattern {
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

/// A multi-segment variable's value in pieces (split at its `/`), and the
/// pieces each segment of `pattern` covers; why not, if it does not fit.
fn multi_pieces<'v>(
    pattern: &[Segment],
    value: &'v str,
) -> Result<(Vec<&'v str>, Vec<std::ops::Range<usize>>), String> {
    let pieces: Vec<&str> = value.split('/').collect();
    pieces.iter().try_for_each(|piece| check_piece(piece))?;
    let ranges = match_segments(pattern, &pieces)
        .ok_or_else(|| format!("expected the form {}", Pattern(pattern)))?;
    Ok((pieces, ranges))
}

/// Expands a multi-segment variable: the value's `/` stay separators.
fn expand_multi(pattern: &[Segment], value: &str, out: &mut String) -> Result<(), String> {
    let (pieces, ranges) = multi_pieces(pattern, value)?;
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
