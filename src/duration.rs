//! Durations as people write them, one grammar for the command line and the
//! emulator's fault specs: numbers with units, one after the other (`90s`,
//! `1h30m`, `1.5s`, `250ms`, `1m 30s`), or a bare number of seconds (`2`,
//! `0.25`).
//!
//! The units are `d`, `h`, `m` (or `min`), `s` (or `sec`), `ms`, `us` and
//! `ns`. Numbers are decimal (`.5`, `1.25`), never negative and never in
//! exponent form; the result is exact to the nanosecond (rounded half up)
//! and at most 2^64 - 1 nanoseconds, about 584 years.
//!
//! ```
//! use std::time::Duration;
//! use eeops::duration::{format_duration, parse_duration};
//!
//! assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
//! assert_eq!(parse_duration("0.25"), Ok(Duration::from_millis(250)));
//! assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
//! assert!(parse_duration("5 parsecs").is_err_and(|why| why.contains("parsecs")));
//! ```

use std::time::Duration;

/// The longest duration accepted, in nanoseconds.
const MAX_NANOS: u128 = u64::MAX as u128;

/// Fraction digits read beyond which a number is not made more precise.
const MAX_FRACTION_DIGITS: usize = 18;

/// How to write a duration, for messages.
const EXAMPLES: &str = "90s, 1h30m, 250ms or 2 (seconds)";

/// Parses a duration; the error says what is wrong with `text`.
///
/// # Errors
///
/// A message naming the problem: an empty text, a number without a unit in
/// a compound, an unknown unit, a malformed number or a duration too long.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("empty duration; write it like {EXAMPLES}"));
    }
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_end];
        rest = rest[number_end..].trim_start();
        let unit_end = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        if number.is_empty() && unit.is_empty() {
            let stray = rest.chars().next().unwrap_or_default();
            return Err(format!(
                "unexpected {stray:?} in {text:?}; write it like {EXAMPLES}"
            ));
        }
        rest = rest[unit_end..].trim_start();
        let nanos_per_unit: u128 = match unit {
            // A bare number is seconds, but only on its own.
            "" if number_end == text.len() => 1_000_000_000,
            "" => {
                return Err(format!(
                    "{text:?} lacks a unit after {number:?} (d, h, m, s, ms, us or ns)"
                ));
            }
            "d" => 86_400_000_000_000,
            "h" => 3_600_000_000_000,
            "m" | "min" => 60_000_000_000,
            "s" | "sec" => 1_000_000_000,
            "ms" => 1_000_000,
            "us" => 1_000,
            "ns" => 1,
            unit => {
                return Err(format!(
                    "unknown unit {unit:?} in {text:?}; use d, h, m, s, ms, us or ns"
                ));
            }
        };
        let nanos = scaled(number, nanos_per_unit)
            .ok_or_else(|| format!("{text:?} is not a duration; write it like {EXAMPLES}"))?;
        total = total.saturating_add(nanos);
    }
    if total > MAX_NANOS {
        return Err(format!("{text:?} is too long (at most about 584 years)"));
    }
    Ok(Duration::from_nanos(
        u64::try_from(total).unwrap_or(u64::MAX),
    ))
}

/// `number` (digits with at most one `.`, at least one digit) times
/// `nanos_per_unit`, rounded to the nanosecond; None when it is not such a
/// number. Saturates rather than overflow: the caller refuses the total.
fn scaled(number: &str, nanos_per_unit: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    let mut nanos: u128 = 0;
    for digit in whole.bytes() {
        nanos = nanos
            .saturating_mul(10)
            .saturating_add(u128::from(digit - b'0'));
    }
    nanos = nanos.saturating_mul(nanos_per_unit);
    let mut numerator: u128 = 0;
    let mut denominator: u128 = 1;
    for digit in fraction.bytes().take(MAX_FRACTION_DIGITS) {
        numerator = numerator * 10 + u128::from(digit - b'0');
        denominator *= 10;
    }
    let fraction_nanos = (numerator * nanos_per_unit + denominator / 2) / denominator;
    Some(nanos.saturating_add(fraction_nanos))
}

/// The duration in the largest unit that states it exactly (`1500ms`,
/// `2s`, `7ns`), which [`parse_duration`] reads back.
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos.is_multiple_of(1_000_000_000) {
        format!("{}s", nanos / 1_000_000_000)
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("{}us", nanos / 1_000)
    } else {
        format!("{nanos}ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_and_compounds() {
        for (text, expected) in [
            ("90s", Duration::from_secs(90)),
            ("5m", Duration::from_secs(300)),
            ("1h30m", Duration::from_secs(5400)),
            ("1m30s", Duration::from_secs(90)),
            ("1m 30s", Duration::from_secs(90)),
            ("1 s", Duration::from_secs(1)),
            ("1d", Duration::from_secs(86_400)),
            ("2min", Duration::from_secs(120)),
            ("3sec", Duration::from_secs(3)),
            ("250ms", Duration::from_millis(250)),
            ("250us", Duration::from_micros(250)),
            ("7ns", Duration::from_nanos(7)),
            ("1s500ms", Duration::from_millis(1500)),
            ("1.5s", Duration::from_millis(1500)),
            (".5s", Duration::from_millis(500)),
            ("5.", Duration::from_secs(5)),
            ("2", Duration::from_secs(2)),
            ("0.3", Duration::from_millis(300)),
            (" 0.25 ", Duration::from_millis(250)),
            ("1.5ns", Duration::from_nanos(2)),
            ("0.1234567891s", Duration::from_nanos(123_456_789)),
        ] {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        for (bad, named) in [
            ("", "empty"),
            ("   ", "empty"),
            ("abc", "unknown unit \"abc\""),
            ("s", "not a duration"),
            ("ms", "not a duration"),
            ("5x", "unknown unit \"x\""),
            ("5 parsecs", "unknown unit \"parsecs\""),
            ("-3s", "unexpected '-'"),
            ("1s,2s", "unexpected ','"),
            ("1h30", "lacks a unit after \"30\""),
            ("1..2s", "not a duration"),
            ("1.2.3", "not a duration"),
            ("1e3", "unknown unit \"e\""),
            ("inf", "unknown unit"),
            ("NaN", "unknown unit"),
            ("1H", "unknown unit \"H\""),
            ("99999999999999h", "too long"),
            ("99999999999999999999999999999999999999999s", "too long"),
        ] {
            let error = parse_duration(bad).expect_err(bad);
            assert!(error.contains(named), "{bad:?}: {error}");
        }
    }

    #[test]
    fn formatting_reads_back() {
        for duration in [
            Duration::from_secs(2),
            Duration::from_millis(1500),
            Duration::from_micros(250),
            Duration::from_nanos(1_000_001),
            Duration::ZERO,
        ] {
            let text = format_duration(duration);
            assert_eq!(parse_duration(&text), Ok(duration), "{text}");
        }
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(
            format_duration(Duration::from_nanos(1_000_001)),
            "1000001ns"
        );
    }
}
