//! Expansion, on the client: a request's field values placed into the
//! template, percent-encoded, each value checked against its variable's
//! pattern.

use std::borrow::Cow;

use super::{PathTemplate, Pattern, Segment, TemplateError, Variable, check_piece, walk};
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
            _ => walk_multi(pattern, value, |_| {}),
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

/// Walks a multi-segment variable's value, split at its `/`, along
/// `pattern`, handing `each` every piece in order as it matches; why not,
/// if the value does not fit. Every piece is checked on its own, after a
/// misfit too, and a piece refused that way is the reason given. One pass,
/// nothing collected: this runs twice for every call.
fn walk_multi<'v>(
    pattern: &[Segment],
    value: &'v str,
    mut each: impl FnMut(Piece<'v>),
) -> Result<(), String> {
    let mut refused = None;
    let mut pieces = value.split('/').inspect(|piece| {
        if refused.is_none() {
            refused = check_piece(piece).err();
        }
    });
    let fits = walk(pattern, pieces.by_ref(), |index, piece| {
        each(match pattern.get(index) {
            Some(Segment::Literal(_)) => Piece::Literal(piece),
            _ => Piece::Wild(piece),
        });
    });
    pieces.for_each(drop);
    match refused {
        Some(reason) => Err(reason),
        None if fits => Ok(()),
        None => Err(format!("expected the form {}", Pattern(pattern))),
    }
}

/// One piece of a multi-segment value, as its pattern matched it.
enum Piece<'v> {
    /// Equal to a literal segment: written as it is.
    Literal(&'v str),
    /// Matched by `*` or `**`: written percent-encoded.
    Wild(&'v str),
}

/// Expands a multi-segment variable: the value's `/` stay separators.
fn expand_multi(pattern: &[Segment], value: &str, out: &mut String) -> Result<(), String> {
    walk_multi(pattern, value, |piece| {
        out.push('/');
        match piece {
            Piece::Literal(literal) => out.push_str(literal),
            Piece::Wild(wild) => percent::encode_into(out, wild, COMPONENT),
        }
    })
}
