//! `--since`: a duration back from now (`2h`, `3d`), a date (`2026-12-01`,
//! midnight UTC) or an RFC 3339 time (`2026-12-01T08:00:00Z`,
//! `2026-12-01T09:00:00+01:00`).

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use eeops::duration::parse_duration;

/// When the operations shown must have been created at or after.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Since {
    /// This long before the command runs.
    Ago(Duration),
    /// This moment.
    At(SystemTime),
}

impl Since {
    /// The moment itself, taking `now` for a duration.
    pub(crate) fn cutoff(self, now: SystemTime) -> SystemTime {
        match self {
            Self::Ago(duration) => now.checked_sub(duration).unwrap_or(SystemTime::UNIX_EPOCH),
            Self::At(time) => time,
        }
    }
}

/// Parses `--since`: a date or time when it starts like `YYYY-`, otherwise
/// a duration.
pub(crate) fn parse_since(text: &str) -> Result<Since, String> {
    let text = text.trim();
    let looks_like_date = text.len() > 4
        && text.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && text.as_bytes()[4] == b'-';
    if !looks_like_date {
        return parse_duration(text).map(Since::Ago).map_err(|problem| {
            format!("{problem}; or give a date (2026-12-01) or an RFC 3339 time")
        });
    }
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    prost_types::Timestamp::from_str(&full)
        .ok()
        .and_then(|timestamp| SystemTime::try_from(timestamp).ok())
        .map(Since::At)
        .ok_or_else(|| {
            format!(
                "{text:?} is not a date (2026-12-01) or an RFC 3339 time (2026-12-01T08:00:00Z)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> Since {
        Since::At(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
    }

    #[test]
    fn durations_dates_and_times() {
        const DEC_1_2026: u64 = 1_796_083_200;
        for (text, expected) in [
            ("2h", Since::Ago(Duration::from_secs(7200))),
            ("3d", Since::Ago(Duration::from_secs(3 * 86_400))),
            ("2026-12-01", at(DEC_1_2026)),
            ("2026-12-01T08:00:00Z", at(DEC_1_2026 + 8 * 3600)),
            ("2026-12-01T08:00:00.5Z", {
                Since::At(
                    SystemTime::UNIX_EPOCH
                        + Duration::from_millis((DEC_1_2026 + 8 * 3600) * 1000 + 500),
                )
            }),
            ("2026-12-01T09:00:00+01:00", at(DEC_1_2026 + 8 * 3600)),
        ] {
            assert_eq!(parse_since(text), Ok(expected), "{text}");
        }
        for bad in [
            "",
            "soon",
            "2026-13-01",
            "2026-12-01T25:00:00Z",
            "2026-12",
            "2026-12-01 08:00",
        ] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_duration_counts_back_from_now() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        assert_eq!(
            Since::Ago(Duration::from_secs(1000)).cutoff(now),
            SystemTime::UNIX_EPOCH + Duration::from_secs(9000)
        );
    }
}
