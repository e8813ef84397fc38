//! Matching, on the server (the emulator): a raw request path taken apart
//! into each variable's decoded value.

use std::borrow::Cow;
use std::ops::Range;

use super::{PathTemplate, Segment, Variable, check_piece};
use crate::percent;

impl PathTemplate {
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

/// Matches raw path segments against a pattern and
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
