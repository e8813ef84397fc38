//! `google.protobuf.Timestamp` to and from its proto3 JSON form: RFC 3339
//! with an upper-case `T` and `Z` (or, when read, a numeric offset), at most
//! nine fractional digits, from 0001-01-01T00:00:00Z to
//! 9999-12-31T23:59:59.999999999Z. Written with 0, 3, 6 or 9 fractional
//! digits, as prost's `Display` writes it, without its formatting machinery:
//! every reply of the emulator's REST surface carries several timestamps.

use prost_types::Timestamp;
use serde::{Serialize, Serializer};

/// The earliest and latest whole seconds a Timestamp may hold.
const SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

/// The timestamp `text` is, or why it is not one.
pub(crate) fn parse(text: &str) -> Result<Timestamp, String> {
    let bytes = text.as_bytes();
    let digit_at = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_digit);
    let shape = bytes.len() >= 20
        && [4, 7].iter().all(|&at| bytes[at] == b'-')
        && bytes[10] == b'T'
        && [13, 16].iter().all(|&at| bytes[at] == b':')
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&at| digit_at(at));
    if !shape {
        return Err(format!(
            "{text:?} is not a timestamp of the form 2024-01-02T03:04:05.678Z \
             (RFC 3339, upper-case T and Z)"
        ));
    }
    let number = |from: usize, to: usize| -> i64 {
        bytes[from..to]
            .iter()
            .fold(0, |n, b| n * 10 + i64::from(b - b'0'))
    };
    let mut rest = &bytes[19..];
    let mut nanos = 0;
    if let Some(after_dot) = rest.strip_prefix(b".") {
        let digits = after_dot.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return Err(format!("{text:?} has a '.' with no fractional digits"));
        }
        if digits > 9 {
            return Err(format!(
                "{text:?} has {digits} fractional digits; a timestamp has at most nine"
            ));
        }
        let fraction = after_dot[..digits]
            .iter()
            .fold(0, |n, b| n * 10 + i32::from(b - b'0'));
        nanos = fraction * 10_i32.pow(9 - digits as u32);
        rest = &after_dot[digits..];
    }
    let offset = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) =>
        {
            let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if hours > 23 || minutes > 59 {
                return Err(format!("{text:?} has an offset out of range"));
            }
            let seconds = (hours * 60 + minutes) * 60;
            if *sign == b'+' { seconds } else { -seconds }
        }
        _ => {
            return Err(format!(
                "{text:?} must end in Z (upper case) or an offset such as +05:30"
            ));
        }
    };
    let (year, month, day) = (number(0, 4), number(5, 7), number(8, 10));
    let (hour, minute, second) = (number(11, 13), number(14, 16), number(17, 19));
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(format!("{text:?} is not a valid date and time"));
    }
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    if !SECONDS.contains(&seconds) {
        return Err(format!(
            "{text:?} is outside the timestamp range 0001-01-01T00:00:00Z to \
             9999-12-31T23:59:59.999999999Z"
        ));
    }
    Ok(Timestamp { seconds, nanos })
}

/// A timestamp's text as proto3 JSON writes it.
pub(crate) enum Text {
    /// Within the range a Timestamp may hold, its nanoseconds normalized:
    /// the bytes and how many of them are used.
    Short([u8; LONGEST], usize),
    /// Anything else, as prost writes it (out-of-range years and all).
    Other(String),
}

/// `2024-01-02T03:04:05.123456789Z`.
const LONGEST: usize = 30;

impl Text {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Only ASCII digits and punctuation are ever written there.
            Self::Short(bytes, len) => std::str::from_utf8(&bytes[..*len]).unwrap_or_default(),
            Self::Other(text) => text,
        }
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        out.serialize_str(self.as_str())
    }
}

/// The text of `timestamp`: exactly what its `Display` writes.
pub(crate) fn format(timestamp: &Timestamp) -> Text {
    let Timestamp { seconds, nanos } = *timestamp;
    if !SECONDS.contains(&seconds) || !(0..1_000_000_000).contains(&nanos) {
        return Text::Other(timestamp.to_string());
    }
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let mut text = [0; LONGEST];
    let mut len = 0;
    let mut put = |value: i64, width: u32, after: u8| {
        for place in (0..width).rev() {
            text[len] = b'0' + (value / 10_i64.pow(place) % 10) as u8;
            len += 1;
        }
        text[len] = after;
        len += 1;
    };
    put(year, 4, b'-');
    put(month, 2, b'-');
    put(day, 2, b'T');
    put(second_of_day / 3600, 2, b':');
    put(second_of_day / 60 % 60, 2, b':');
    let nanos = i64::from(nanos);
    let seconds = second_of_day % 60;
    match nanos {
        0 => put(seconds, 2, b'Z'),
        _ => {
            put(seconds, 2, b'.');
            match nanos {
                _ if nanos % 1_000_000 == 0 => put(nanos / 1_000_000, 3, b'Z'),
                _ if nanos % 1_000 == 0 => put(nanos / 1_000, 6, b'Z'),
                _ => put(nanos, 9, b'Z'),
            }
        }
    }
    Text::Short(text, len)
}

/// The date of the proleptic Gregorian calendar `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timestamps at the edges: the epoch, a second before it, the range's
    /// ends, a leap day, fractions of each width.
    const EDGES: [(i64, i32); 6] = [
        (0, 0),
        (1_714_557_600, 123_000_000),
        (-1, 999_999_999),
        (*SECONDS.start(), 0),
        (*SECONDS.end(), 999_999_999),
        (951_782_400, 1),
    ];

    #[test]
    fn reads_what_prost_writes() {
        for (seconds, nanos) in EDGES {
            let timestamp = Timestamp { seconds, nanos };
            assert_eq!(parse(&timestamp.to_string()), Ok(timestamp));
        }
        assert_eq!(
            parse("2024-05-01T12:00:00+02:00"),
            parse("2024-05-01T10:00:00Z")
        );
    }

    #[test]
    fn writes_what_prost_writes() {
        let mut cases = EDGES.to_vec();
        cases.extend([
            (1_714_557_600, 123_400_000),
            (1_714_557_600, 123_456_000),
            (1_714_557_600, 123_456_780),
            (951_868_799, 0),
            // Outside the range, or not normalized: prost's own text.
            (*SECONDS.end() + 1, 0),
            (*SECONDS.start() - 1, 0),
            (5, -1),
            (5, 1_500_000_000),
        ]);
        // Every day of four centuries, at varying times of day.
        let mut seconds = -12_219_292_800;
        while seconds < 400 * 31_556_952 {
            cases.push((seconds, (seconds.rem_euclid(1_000) * 1_000_000) as i32));
            seconds += 86_400 + 3_601;
        }
        for (seconds, nanos) in cases {
            let timestamp = Timestamp { seconds, nanos };
            assert_eq!(format(&timestamp).as_str(), timestamp.to_string());
        }
    }

    #[test]
    fn refuses_what_is_not_the_form() {
        for (text, why) in [
            ("2024-01-01T00:00:00.1234567891Z", "fractional digits"),
            ("0000-12-31T00:00:00Z", "outside"),
            ("0001-01-01T00:00:00+01:00", "outside"),
            ("2024-01-01t00:00:00Z", "upper-case"),
            ("2024-01-01T00:00:00z", "end in Z"),
            ("2024-02-30T00:00:00Z", "valid date"),
            ("2024-01-01T00:00:00.Z", "no fractional"),
            ("2024-01-01", "form"),
        ] {
            let error = parse(text).expect_err(text);
            assert!(error.contains(why), "{text}: {error}");
        }
    }
}
