//! Points in time in JSON: RFC 3339 in UTC with millisecond precision,
//! e.g. `"2026-11-25T17:42:02.123Z"`.
//!
//! The `time` crate parses them and does the calendar arithmetic, so a date
//! that is not in the calendar (`2026-02-31`) is refused instead of rolling
//! over into the next month, and an offset (`+02:00`) is converted to UTC.

use std::fmt;

use serde::{Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime};

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

/// What every time on the wire looks like: UTC, written `Z`, and always three
/// fraction digits (`YYYY-MM-DDTHH:MM:SS.mmmZ`), so the times of one field
/// have one length and sort as text.
///
/// `time` does the calendar; the digits are written here, into one buffer.
/// The `time` crate's formatting with a format description walks the
/// description and allocates, and every delivered message carries a time: it
/// was a twentieth of the broker's instructions per message on a stream
/// consumer. A test holds the two equal.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.to_utc();
        let (year, month, day) = at.to_calendar_date();
        let (hour, minute, second, milli) = at.to_hms_milli();
        let mut text = *b"0000-00-00T00:00:00.000Z";
        put_digits(&mut text[0..4], year.unsigned_abs());
        put_digits(&mut text[5..7], u32::from(u8::from(month)));
        put_digits(&mut text[8..10], u32::from(day));
        put_digits(&mut text[11..13], u32::from(hour));
        put_digits(&mut text[14..16], u32::from(minute));
        put_digits(&mut text[17..19], u32::from(second));
        put_digits(&mut text[20..23], u32::from(milli));
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

/// Writes the last `out.len()` decimal digits of `value`, zero-padded.
fn put_digits(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
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
    use time::format_description::BorrowedFormatItem;
    use time::macros::format_description;

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

    /// The wire format as a `time` format description.
    const WIRE_FORMAT: &[BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

    /// The same text as the `time` crate's own formatting of [`WIRE_FORMAT`].
    fn formatted_by_time(millis: u64) -> String {
        Timestamp(millis)
            .to_utc()
            .format(WIRE_FORMAT)
            .expect("formats")
    }

    proptest::proptest! {
        #[test]
        fn formats_as_the_time_crate_does(millis in 0u64..=253_402_300_799_999) {
            proptest::prop_assert_eq!(Timestamp(millis).to_string(), formatted_by_time(millis));
        }
    }

    #[test]
    fn formats_as_the_time_crate_does_at_the_edges() {
        let day = 86_400_000;
        for millis in [
            0,
            999,
            1_000,
            day - 1,
            day,
            951_782_400_000 - 1,
            951_782_400_000,
            951_782_400_000 + day,
            4_102_444_800_000,
            253_402_300_799_999,
            253_402_300_800_000,
            u64::MAX,
        ] {
            assert_eq!(
                Timestamp(millis).to_string(),
                formatted_by_time(millis),
                "{millis}"
            );
        }
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
