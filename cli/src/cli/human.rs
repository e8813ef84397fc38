//! Times and numbers as people read them: `3m`, `2h`, `5d`, `1h05m`,
//! `1,234`.

use std::time::{Duration, SystemTime};

/// A short age: `45s`, `3m`, `2h`, `5d`.
pub(crate) fn age(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3_600 => format!("{}m", seconds / 60),
        3_600..86_400 => format!("{}h", seconds / 3_600),
        _ => format!("{}d", seconds / 86_400),
    }
}

/// How long ago `time` was (`-` when unknown; a time in the future counts
/// as now).
pub(crate) fn ago(time: Option<SystemTime>) -> String {
    time.map_or_else(
        || "-".to_owned(),
        |time| age(SystemTime::now().duration_since(time).unwrap_or_default()),
    )
}

/// A span with two units at most: `40s`, `14m`, `1h05m`, `2d03h`.
pub(crate) fn span(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3_600 => {
            let (m, s) = (seconds / 60, seconds % 60);
            if s == 0 || m >= 10 {
                format!("{m}m")
            } else {
                format!("{m}m{s:02}s")
            }
        }
        3_600..86_400 => format!("{}h{:02}m", seconds / 3_600, seconds / 60 % 60),
        _ => format!("{}d{:02}h", seconds / 86_400, seconds / 3_600 % 24),
    }
}

/// An integer with thousands separators: `1,234`.
pub(crate) fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `MM-DD HH:MM` in UTC, or `-`.
pub(crate) fn short_time(time: Option<prost_types::Timestamp>) -> String {
    // RFC 3339 from the timestamp: 2026-11-22T12:34:56.789Z.
    time.map(|t| t.to_string())
        .and_then(|text| text.get(5..16).map(|part| part.replace('T', " ")))
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_spans() {
        assert_eq!(age(Duration::from_secs(45)), "45s");
        assert_eq!(age(Duration::from_secs(190)), "3m");
        assert_eq!(age(Duration::from_secs(7_300)), "2h");
        assert_eq!(age(Duration::from_secs(5 * 86_400 + 10)), "5d");
        assert_eq!(span(Duration::from_secs(40)), "40s");
        assert_eq!(span(Duration::from_secs(95)), "1m35s");
        assert_eq!(span(Duration::from_secs(14 * 60 + 3)), "14m");
        assert_eq!(span(Duration::from_secs(3_900)), "1h05m");
        assert_eq!(span(Duration::from_secs(2 * 86_400 + 3 * 3_600)), "2d03h");
        assert_eq!(ago(None), "-");
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234), "1,234");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }
}
