//! Parsers of flag values that need more than a type's `FromStr`: each answers a
//! sentence that says what was expected, which clap prints as a usage error.

use api::duration::Duration;
use api::limits::MAX_DELIVER_AFTER_SECONDS;

/// Parses one `--attr key=value`; the value may contain `=` and may be empty.
pub fn parse_attribute(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    if key.is_empty() {
        return Err(format!("attribute key is empty in {text:?}"));
    }
    if key.len() > api::limits::MAX_ATTRIBUTE_KEY_BYTES {
        return Err(format!(
            "attribute key is longer than {} bytes",
            api::limits::MAX_ATTRIBUTE_KEY_BYTES
        ));
    }
    if value.len() > api::limits::MAX_ATTRIBUTE_VALUE_BYTES {
        return Err(format!(
            "value of attribute {key:?} is longer than {} bytes",
            api::limits::MAX_ATTRIBUTE_VALUE_BYTES
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Parses a duration in the API's own form, seconds with an `s` suffix (`30s`, `0.5s`),
/// so what is typed is what the server receives. Other units are refused with the same
/// value in seconds as the suggestion (`1h` → `3600s`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    text.parse::<Duration>().map_err(|_| {
        let expected = "expected seconds with an 's' suffix, like \"30s\" or \"0.5s\"";
        match in_seconds(text) {
            Some(seconds) => format!("{expected}; write {text:?} as \"{seconds}\""),
            None => format!("{expected}, got {text:?}"),
        }
    })
}

/// `--deliver-after`: a duration of at most the API's 7-day limit.
pub fn parse_deliver_after(text: &str) -> Result<Duration, String> {
    let delay = parse_duration(text)?;
    if delay > Duration::from_secs(MAX_DELIVER_AFTER_SECONDS) {
        return Err(format!(
            "must be at most {MAX_DELIVER_AFTER_SECONDS}s (7 days), got {delay}"
        ));
    }
    Ok(delay)
}

/// `--ttl`: a positive duration (a message that expires at once would never be seen).
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let ttl = parse_duration(text)?;
    if ttl == Duration::default() {
        return Err("must be more than 0s".to_owned());
    }
    Ok(ttl)
}

/// The API form of a whole number with a common unit (`500ms`, `90`, `5m`, `1h`, `2d`),
/// for the hint; `None` when the text is no such number.
fn in_seconds(text: &str) -> Option<Duration> {
    const UNITS: [(&str, u64); 4] = [
        ("ms", 1),
        ("m", 60_000),
        ("h", 3_600_000),
        ("d", 86_400_000),
    ];
    let (digits, millis_per_unit) = UNITS
        .iter()
        .find_map(|(unit, millis)| text.strip_suffix(unit).map(|digits| (digits, *millis)))
        .unwrap_or((text, 1000));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count: u64 = digits.parse().ok()?;
    Some(Duration::from_millis(count.checked_mul(millis_per_unit)?))
}
