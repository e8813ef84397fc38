//! The string form proto3 JSON gives `google.protobuf.Duration`, checked as
//! Google's reference parsers check it before the value is read: seconds
//! with an `s`, at most nine fractional digits, within ±315,576,000,000 s
//! (10,000 years). Timestamps are checked by the typed reader's rule
//! (`typed::timestamp`).

/// The most seconds a Duration may hold, either way.
const DURATION_MAX_SECONDS: u64 = 315_576_000_000;

/// Why `text` is not a Duration in proto3 JSON, if it is not.
pub(crate) fn duration_problem(text: &str) -> Option<String> {
    let form = || format!("{text:?} is not a duration of the form 3.5s (seconds, then s)");
    let Some(number) = text.strip_suffix('s') else {
        return Some(form());
    };
    let unsigned = number.strip_prefix('-').unwrap_or(number);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Some(form());
    }
    if let Some(fraction) = fraction {
        if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Some(form());
        }
        if fraction.len() > 9 {
            return Some(format!(
                "{text:?} has {} fractional digits; a duration has at most nine",
                fraction.len()
            ));
        }
    }
    let in_range = whole
        .trim_start_matches('0')
        .parse::<u64>()
        .map_or(whole.bytes().all(|b| b == b'0'), |seconds| {
            seconds <= DURATION_MAX_SECONDS
        });
    if !in_range {
        return Some(format!(
            "{text:?} is outside the duration range of ±315576000000.999999999s"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_and_out_of_the_proto3_form() {
        for good in [
            "0s",
            "3.5s",
            "-1.000000001s",
            "315576000000s",
            "-315576000000.999999999s",
            "00001s",
        ] {
            assert_eq!(duration_problem(good), None, "{good}");
        }
        for (bad, why) in [
            ("1.0000000001s", "10 fractional digits"),
            ("315576000001s", "outside the duration range"),
            ("-315576000001s", "outside the duration range"),
            ("99999999999999999999999s", "outside the duration range"),
            ("1", "the form"),
            ("1S", "the form"),
            ("1.s", "the form"),
            (".5s", "the form"),
            ("+1s", "the form"),
            ("1e3s", "the form"),
            ("s", "the form"),
        ] {
            let problem = duration_problem(bad).unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(problem.contains(why), "{bad}: {problem}");
        }
    }
}
