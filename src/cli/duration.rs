//! Durations as people write them: `90s`, `5m`, `1h30m`, `250ms`, `1.5s`.

use std::time::Duration;

/// Parses a duration; a bare number means seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration; write it like 90s, 5m or 1h30m".into());
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return seconds_to_duration(seconds, text);
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| {
                format!("{text:?} lacks a unit after its last number (h, m, s or ms)")
            })?;
        if number_end == 0 {
            return Err(format!(
                "{text:?} is not a duration; write it like 90s, 5m or 1h30m"
            ));
        }
        let value: f64 = rest[..number_end]
            .parse()
            .map_err(|_| format!("{:?} in {text:?} is not a number", &rest[..number_end]))?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "d" => 86_400.0,
            "h" => 3_600.0,
            "m" | "min" => 60.0,
            "s" | "sec" => 1.0,
            "ms" => 0.001,
            unit => {
                return Err(format!(
                    "unknown unit {unit:?} in {text:?}; use d, h, m, s or ms"
                ));
            }
        };
        total += value * scale;
        rest = &rest[unit_end..];
    }
    seconds_to_duration(total, text)
}

fn seconds_to_duration(seconds: f64, text: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is not a usable duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        for (text, millis) in [
            ("90s", 90_000),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("250ms", 250),
            ("1.5s", 1_500),
            ("2", 2_000),
            ("1d", 86_400_000),
            ("1m30s", 90_000),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(millis)),
                "{text}"
            );
        }
        for bad in ["", "abc", "5x", "-3s", "1h30", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
