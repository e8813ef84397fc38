//! `google.protobuf.Timestamp` from its proto3 JSON form: RFC 3339 with an
//! upper-case `T` and `Z` (or a numeric offset), at most nine fractional
//! digits, from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.

use prost_types::Timestamp;

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

    #[test]
    fn reads_what_prost_writes() {
        for (seconds, nanos) in [
            (0, 0),
            (1_714_557_600, 123_000_000),
            (-1, 999_999_999),
            (*SECONDS.start(), 0),
            (*SECONDS.end(), 999_999_999),
            (951_782_400, 1),
        ] {
            let timestamp = Timestamp { seconds, nanos };
            assert_eq!(parse(&timestamp.to_string()), Ok(timestamp));
        }
        assert_eq!(
            parse("2024-05-01T12:00:00+02:00"),
            parse("2024-05-01T10:00:00Z")
        );
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
