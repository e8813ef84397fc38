//! Instants as milliseconds since the Unix epoch (UTC), and how the page
//! writes them and the spans between them.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since 1970-01-01T00:00:00Z.
pub(crate) type Millis = i64;

pub(crate) const SECOND: Millis = 1_000;
pub(crate) const MINUTE: Millis = 60 * SECOND;
pub(crate) const HOUR: Millis = 60 * MINUTE;
pub(crate) const DAY: Millis = 24 * HOUR;

/// Refuses instants beyond year 9999 either way: servers can send anything,
/// and the page's arithmetic must never overflow.
const LIMIT: Millis = 253_402_300_800_000;

pub(crate) fn from_system_time(time: SystemTime) -> Millis {
    let millis = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(LIMIT),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(LIMIT),
    };
    millis.clamp(-LIMIT, LIMIT)
}

/// The UTC day an instant falls in, counted from the epoch.
pub(crate) fn day_of(at: Millis) -> i64 {
    at.div_euclid(DAY)
}

/// Year, month and day of a day number (proleptic Gregorian calendar).
fn civil(day: i64) -> (i64, u32, u32) {
    let shifted = day + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day_of_month = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day_of_month)
}

/// `2026-03-14`.
pub(crate) fn date(day: i64) -> String {
    let (year, month, day) = civil(day);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `03-14`: a day on a chart's axis.
pub(crate) fn short_date(day: i64) -> String {
    let (_, month, day) = civil(day);
    format!("{month:02}-{day:02}")
}

/// `09:02`.
pub(crate) fn clock(at: Millis) -> String {
    let minutes = at.rem_euclid(DAY) / MINUTE;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `2026-03-14 09:02:11`.
pub(crate) fn date_time(at: Millis) -> String {
    let seconds = at.rem_euclid(DAY) / SECOND;
    format!(
        "{} {:02}:{:02}:{:02}",
        date(day_of(at)),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// A span for people: `45 s`, `12 min`, `3 h 05 min`, `2 d 04 h`.
pub(crate) fn span(length: Millis) -> String {
    let seconds = length.max(0) / SECOND;
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {:02} min", s / 3600, s / 60 % 60),
        s => format!("{} d {:02} h", s / 86_400, s / 3600 % 24),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_calendar() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(-1), "1969-12-31");
        // 2024 is a leap year; 2100 is not.
        assert_eq!(date(day_of(1_709_164_800_000)), "2024-02-29");
        assert_eq!(date(day_of(4_107_542_400_000)), "2100-03-01");
        assert_eq!(date_time(1_773_478_931_000), "2026-03-14 09:02:11");
        assert_eq!(clock(1_773_478_931_000), "09:02");
        assert_eq!(short_date(day_of(1_773_478_931_000)), "03-14");
    }

    #[test]
    fn spans_read_in_the_largest_useful_units() {
        assert_eq!(span(-5), "0 s");
        assert_eq!(span(59_999), "59 s");
        assert_eq!(span(12 * MINUTE + 30 * SECOND), "12 min");
        assert_eq!(span(3 * HOUR + 5 * MINUTE), "3 h 05 min");
        assert_eq!(span(2 * DAY + 4 * HOUR), "2 d 04 h");
    }

    #[test]
    fn instants_out_of_range_are_clamped() {
        let far = UNIX_EPOCH + std::time::Duration::from_secs(u64::MAX / 4);
        assert_eq!(from_system_time(far), LIMIT);
        assert_eq!(from_system_time(UNIX_EPOCH), 0);
    }
}
