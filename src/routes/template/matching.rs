//! Matching, on the server (the emulator): a raw request path taken apart
//! into each variable's decoded value.

use std::borrow::Cow;
use std::ops::Range;

use super::{PathTemplate, Segment, Variable, check_piece, walk};
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

/// Matches raw path segments against a pattern and returns, for each
/// pattern segment, the range of pieces it covers.
fn match_segments(pattern: &[Segment], pieces: &[&str]) -> Option<Vec<Range<usize>>> {
    let mut taken = vec![0; pattern.len()];
    let fits = walk(pattern, pieces.iter().copied(), |index, _| {
        if let Some(count) = taken.get_mut(index) {
            *count += 1;
        }
    });
    fits.then(|| {
        let mut start = 0;
        taken
            .into_iter()
            .map(|count| {
                let range = start..start + count;
                start += count;
                range
            })
            .collect()
    })
}
