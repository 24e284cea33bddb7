//! Regular expressions for the strings whose value the server bounds:
//! numbers written in text (`replicated:N`) and durations (`"10s"`). JSON
//! Schema can bound numbers but not numbers inside strings, so the bounds
//! become patterns. They use only syntax that ECMA 262, Python's `re` and
//! Rust's `regex` read alike.

/// Decimal numbers from `low` to `high`, optionally with leading zeros (the
/// server's integer parsing accepts them).
pub(super) fn number_between(low: u64, high: u64) -> String {
    format!("0*{}", without_leading_zeros(low, high))
}

/// A duration as [`crate::duration::Duration`] parses it (whole seconds,
/// up to nine fraction digits, an `s`) whose whole milliseconds are at most
/// `max_seconds * 1000`.
pub(super) fn duration_at_most(max_seconds: u64) -> String {
    let fraction = r"(?:\.[0-9]{1,9})?";
    // At exactly the bound, the fraction may not add a millisecond.
    let zero_fraction = r"(?:\.(?:0{1,3}|000[0-9]{1,6}))?";
    if max_seconds == 0 {
        return format!("^0+{zero_fraction}s$");
    }
    format!(
        "^(?:{}{fraction}|{}{zero_fraction})s$",
        number_between(0, max_seconds - 1),
        number_between(max_seconds, max_seconds)
    )
}

/// A duration of at least one whole millisecond (the server counts whole
/// milliseconds, so `"0.0001s"` is zero).
pub(super) fn positive_duration() -> String {
    let fraction = r"(?:\.[0-9]{1,9})?";
    let millisecond_fraction = r"\.(?:[1-9][0-9]{0,8}|0[1-9][0-9]{0,7}|00[1-9][0-9]{0,6})";
    format!(
        "^(?:{}{fraction}|0+{millisecond_fraction})s$",
        number_between(1, u64::MAX)
    )
}

/// Numbers from `low` to `high` with no leading zero.
fn without_leading_zeros(low: u64, high: u64) -> String {
    assert!(low <= high, "empty range {low}..={high}");
    let mut parts = Vec::new();
    let mut from = low;
    // One part per count of digits: 0-9, 10-99, ...
    loop {
        let digits = from.to_string().len();
        let last_of_width = 10u64
            .checked_pow(digits as u32)
            .map_or(u64::MAX, |next| next - 1);
        let to = high.min(last_of_width);
        parts.push(same_width(
            from.to_string().as_bytes(),
            to.to_string().as_bytes(),
        ));
        if to == high {
            break;
        }
        from = to + 1;
    }
    alternatives(parts)
}

/// Numbers between two of the same width, digit by digit.
fn same_width(low: &[u8], high: &[u8]) -> String {
    let rest = low.len() - 1;
    if low.iter().skip(1).all(|&d| d == b'0') && high.iter().skip(1).all(|&d| d == b'9') {
        return format!("{}{}", digit_class(low[0], high[0]), any_digits(rest));
    }
    if low[0] == high[0] {
        return format!(
            "{}{}",
            char::from(low[0]),
            same_width(&low[1..], &high[1..])
        );
    }
    let nines = vec![b'9'; rest];
    let zeros = vec![b'0'; rest];
    let mut parts = vec![format!(
        "{}{}",
        char::from(low[0]),
        same_width(&low[1..], &nines)
    )];
    if high[0] - low[0] > 1 {
        parts.push(format!(
            "{}{}",
            digit_class(low[0] + 1, high[0] - 1),
            any_digits(rest)
        ));
    }
    parts.push(format!(
        "{}{}",
        char::from(high[0]),
        same_width(&zeros, &high[1..])
    ));
    alternatives(parts)
}

fn digit_class(low: u8, high: u8) -> String {
    if low == high {
        char::from(low).to_string()
    } else {
        format!("[{}-{}]", char::from(low), char::from(high))
    }
}

fn any_digits(count: usize) -> String {
    match count {
        0 => String::new(),
        1 => "[0-9]".to_owned(),
        n => format!("[0-9]{{{n}}}"),
    }
}

fn alternatives(parts: Vec<String>) -> String {
    if parts.len() == 1 {
        parts.into_iter().collect()
    } else {
        format!("(?:{})", parts.join("|"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Duration;
    use proptest::prelude::*;

    fn full(pattern: &str) -> regex::Regex {
        regex::Regex::new(&format!("^(?:{pattern})$")).expect("the pattern compiles")
    }

    #[test]
    fn number_ranges_include_their_ends_and_nothing_outside() {
        for (low, high) in [
            (0, 0),
            (1, 9),
            (0, 86_399),
            (1, u64::MAX),
            (7, 7),
            (10, 1000),
        ] {
            let pattern = full(&number_between(low, high));
            assert!(
                pattern.is_match(&low.to_string()),
                "{low} in {low}..={high}"
            );
            assert!(
                pattern.is_match(&high.to_string()),
                "{high} in {low}..={high}"
            );
            assert!(pattern.is_match(&format!("00{high}")), "leading zeros");
            if low > 0 {
                assert!(!pattern.is_match(&(low - 1).to_string()), "below {low}");
            }
            if let Some(above) = high.checked_add(1) {
                assert!(!pattern.is_match(&above.to_string()), "above {high}");
            }
        }
        assert!(!full(&number_between(1, u64::MAX)).is_match("18446744073709551616"));
    }

    proptest! {
        #[test]
        fn a_number_matches_exactly_when_in_range(low in 0u64..100_000, width in 0u64..1_000_000, n in 0u64..2_000_000) {
            let high = low + width;
            prop_assert_eq!(full(&number_between(low, high)).is_match(&n.to_string()), (low..=high).contains(&n));
        }

        #[test]
        fn a_duration_matches_exactly_when_it_parses_within_the_bound(
            text in "0{0,2}[0-9]{1,6}(\\.[0-9]{1,10})?s?",
            max_seconds in prop::sample::select(vec![0u64, 1, 600, 86_400, 604_800]),
        ) {
            let within = text.parse::<Duration>().is_ok_and(|d| d.as_millis() <= max_seconds * 1000);
            prop_assert_eq!(regex::Regex::new(&duration_at_most(max_seconds)).expect("compiles").is_match(&text), within, "{} within {}s", text, max_seconds);
        }

        #[test]
        fn a_duration_matches_positive_exactly_when_it_has_a_millisecond(text in "0{0,2}[0-9]{1,21}(\\.[0-9]{1,10})?s?") {
            let positive = text.parse::<Duration>().is_ok_and(|d| d.as_millis() > 0);
            prop_assert_eq!(regex::Regex::new(&positive_duration()).expect("compiles").is_match(&text), positive, "{}", text);
        }
    }
}
