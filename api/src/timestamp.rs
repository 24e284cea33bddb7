//! Points in time in JSON: RFC 3339 in UTC with millisecond precision,
//! e.g. `"2026-11-25T17:42:02.123Z"`.
//!
//! The `time` crate parses and formats them, so a date that is not in the
//! calendar (`2026-02-31`) is refused instead of rolling over into the next
//! month, and an offset (`+02:00`) is converted to UTC.

use std::fmt;

use serde::{Serialize, Serializer};
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// What every time on the wire looks like: UTC, written `Z`, and always three
/// fraction digits, so the times of one field have one length and sort as text.
const WIRE_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

const NANOS_PER_MILLI: i128 = 1_000_000;

/// Milliseconds since the Unix epoch, written as RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The instant as a UTC date and time. RFC 3339 years have four digits, so
    /// an instant after 9999 (no clock gives one; `u64::MAX` is sometimes used
    /// as "never") is the last one that can be written.
    fn to_utc(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * NANOS_PER_MILLI)
            .unwrap_or_else(|_| PrimitiveDateTime::MAX.assume_utc())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.to_utc().format(WIRE_FORMAT).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

/// Why a time string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseTimestampError {
    /// Not an RFC 3339 date-time, or a date that is not in the calendar.
    #[error("invalid time {text:?}: {reason}; expected RFC 3339, like \"2026-11-25T17:42:02Z\"")]
    NotRfc3339 {
        text: String,
        reason: time::error::Parse,
    },
    /// Before the Unix epoch, which no stored time can be.
    #[error("invalid time {text:?}: before 1970-01-01T00:00:00Z, the earliest time there is")]
    BeforeEpoch { text: String },
}

impl std::str::FromStr for Timestamp {
    type Err = ParseTimestampError;

    /// Parses an RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`)
    /// and converts it to UTC; the fraction is kept to the millisecond
    /// (truncated, so a time never moves later).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let at = OffsetDateTime::parse(s, &Rfc3339).map_err(|reason| {
            ParseTimestampError::NotRfc3339 {
                text: s.to_owned(),
                reason,
            }
        })?;
        let millis = at.unix_timestamp_nanos().div_euclid(NANOS_PER_MILLI);
        u64::try_from(millis)
            .map(Self)
            .map_err(|_| ParseTimestampError::BeforeEpoch { text: s.to_owned() })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<u64, ParseTimestampError> {
        text.parse::<Timestamp>().map(|t| t.0)
    }

    #[test]
    fn formats_known_instants_as_before() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp(951_782_400_000).to_string(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp(1_795_628_522_123).to_string(),
            "2026-11-25T17:42:02.123Z"
        );
        assert_eq!(
            Timestamp(1_795_628_522_004).to_string(),
            "2026-11-25T17:42:02.004Z",
            "the fraction keeps its leading zeros"
        );
        assert_eq!(
            serde_json::to_string(&Timestamp(1_795_628_522_120)).expect("serializes"),
            "\"2026-11-25T17:42:02.120Z\"",
            "and its trailing ones"
        );
    }

    #[test]
    fn instants_after_year_9999_print_as_the_last_writable_one() {
        assert_eq!(Timestamp(u64::MAX).to_string(), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_what_it_formats() {
        for millis in [0, 951_782_400_000, 1_795_628_522_123, 253_402_300_799_999] {
            let text = Timestamp(millis).to_string();
            assert_eq!(parse(&text), Ok(millis), "{text}");
        }
    }

    #[test]
    fn february_29_exists_only_in_leap_years() {
        for leap in [
            "2000-02-29T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2028-02-29T12:00:00Z",
        ] {
            assert!(parse(leap).is_ok(), "{leap}");
        }
        for not_leap in [
            "2100-02-29T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2023-02-29T00:00:00Z",
        ] {
            assert!(parse(not_leap).is_err(), "{not_leap}");
        }
        assert_eq!(parse("2024-02-29T00:00:00Z"), Ok(1_709_164_800_000));
        assert_eq!(
            parse("2024-03-01T00:00:00Z"),
            Ok(1_709_164_800_000 + 86_400_000),
            "the day after 29 February is 1 March"
        );
    }

    #[test]
    fn dates_outside_the_calendar_are_refused_not_rolled_over() {
        for bad in [
            "2026-02-31T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T23:60:00Z",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let utc = 1_795_628_522_000;
        assert_eq!(parse("2026-11-25T17:42:02Z"), Ok(utc));
        assert_eq!(parse("2026-11-25T19:42:02+02:00"), Ok(utc));
        assert_eq!(parse("2026-11-25T12:12:02-05:30"), Ok(utc));
        assert_eq!(parse("2026-11-25T17:42:02+00:00"), Ok(utc));
        assert_eq!(
            Timestamp(parse("2026-11-26T01:42:02+08:00").expect("offset")).to_string(),
            "2026-11-25T17:42:02.000Z",
            "an offset that crosses midnight moves the date back too"
        );
    }

    #[test]
    fn fractions_are_kept_to_the_millisecond() {
        let second = 1_795_628_522_000;
        assert_eq!(parse("2026-11-25T17:42:02.5Z"), Ok(second + 500));
        assert_eq!(parse("2026-11-25T17:42:02.05Z"), Ok(second + 50));
        assert_eq!(parse("2026-11-25T17:42:02.123Z"), Ok(second + 123));
        assert_eq!(
            parse("2026-11-25T17:42:02.123999999Z"),
            Ok(second + 123),
            "truncated, never rounded up"
        );
        assert_eq!(parse("2026-11-25T19:42:02.25+02:00"), Ok(second + 250));
    }

    #[test]
    fn what_is_not_rfc_3339_is_refused() {
        for bad in [
            "2026-11-25",
            "2026-11-25T17:42:02",
            "2026-11-25T17:42Z",
            "yesterday",
            "2026-11-25T17:42:02.Z",
            "2026-11-25T17:42:02+2:00",
            "26-11-25T17:42:02Z",
            "",
        ] {
            assert!(
                matches!(parse(bad), Err(ParseTimestampError::NotRfc3339 { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn times_before_1970_are_refused() {
        assert_eq!(
            parse("1969-12-31T23:59:59Z"),
            Err(ParseTimestampError::BeforeEpoch {
                text: "1969-12-31T23:59:59Z".to_owned()
            })
        );
        assert_eq!(
            parse("1970-01-01T01:00:00+02:00").map_err(|e| e.to_string()),
            Err(
                "invalid time \"1970-01-01T01:00:00+02:00\": before 1970-01-01T00:00:00Z, \
                 the earliest time there is"
                    .to_owned()
            )
        );
    }
}
