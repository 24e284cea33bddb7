//! RESP2 replies read straight from their bytes, for the range reader
//! (`range_reader`): [`complete`] finds where one whole reply ends in what has
//! arrived so far, and [`Reply`] walks the bytes of whole replies without
//! building a value per element (what `redis::Value` costs: BENCHMARKS.md,
//! "What a packed read would cost Redis").
//!
//! Only RESP2 is read: the range reader's connections never send `HELLO`.

use redis::{ErrorKind, RedisError};

/// Most elements one array may say it has; more is a broken reply, not a
/// reason to allocate.
const MAX_ELEMENTS: i64 = 1 << 24;

/// A reply that is not RESP2 (a parse error, read as corrupt).
fn malformed(detail: impl Into<String>) -> RedisError {
    RedisError::from((ErrorKind::Parse, "malformed Redis reply", detail.into()))
}

/// The end of the line that starts at `at` (the index of its `\r`), if it has
/// arrived.
fn line_end(buf: &[u8], at: usize) -> Option<usize> {
    let rest = buf.get(at..)?;
    let cr = rest.iter().position(|&b| b == b'\r')?;
    (rest.get(cr + 1).is_some()).then_some(at + cr)
}

/// The number on the header line `buf[at..end]` (after the type byte):
/// digits with an optional `-`, read in place (this runs for every element).
fn number(buf: &[u8], at: usize, end: usize) -> Result<i64, RedisError> {
    let text = &buf[at..end];
    let bad = || malformed(format!("bad length {:?}", String::from_utf8_lossy(text)));
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 {
        return Err(bad());
    }
    let mut value: i64 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return Err(bad());
        }
        value = value * 10 + i64::from(digit - b'0');
    }
    Ok(if negative { -value } else { value })
}

/// Where the whole reply starting at `at` ends, if all of it has arrived.
/// `Err` if what arrived cannot be RESP2.
pub(crate) fn complete(buf: &[u8], at: usize) -> Result<Option<usize>, RedisError> {
    // Elements still to skip; an array adds its own.
    let mut pending: i64 = 1;
    let mut at = at;
    while pending > 0 {
        let Some(kind) = buf.get(at) else {
            return Ok(None);
        };
        let Some(end) = line_end(buf, at + 1) else {
            return Ok(None);
        };
        if buf[end + 1] != b'\n' {
            return Err(malformed("a line does not end in CRLF"));
        }
        pending -= 1;
        let next = end + 2;
        at = match kind {
            b'+' | b'-' | b':' => next,
            b'$' => match number(buf, at + 1, end)? {
                -1 => next,
                len if len >= 0 => {
                    let after = usize::try_from(len)
                        .ok()
                        .and_then(|len| next.checked_add(len))
                        .filter(|after| *after <= usize::MAX - 2)
                        .ok_or_else(|| malformed(format!("bulk length {len}")))?;
                    if buf.len() < after + 2 {
                        return Ok(None);
                    }
                    if &buf[after..after + 2] != b"\r\n" {
                        return Err(malformed("a bulk string does not end in CRLF"));
                    }
                    after + 2
                }
                len => return Err(malformed(format!("bulk length {len}"))),
            },
            b'*' => match number(buf, at + 1, end)? {
                -1 => next,
                count if (0..=MAX_ELEMENTS).contains(&count) => {
                    pending += count;
                    next
                }
                count => return Err(malformed(format!("array length {count}"))),
            },
            other => return Err(malformed(format!("type byte {other:#04x}"))),
        };
    }
    Ok(Some(at))
}

/// A walk over whole replies (checked by [`complete`] first), element by
/// element, borrowing every string from the buffer.
pub(crate) struct Reply<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reply<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, at: 0 }
    }

    /// The next header: its type byte and the text after it; moves past it.
    fn header(&mut self) -> Result<(u8, &'a [u8]), RedisError> {
        let kind = *self
            .buf
            .get(self.at)
            .ok_or_else(|| malformed("reply ended early"))?;
        let end = line_end(self.buf, self.at + 1).ok_or_else(|| malformed("reply ended early"))?;
        let text = &self.buf[self.at + 1..end];
        self.at = end + 2;
        Ok((kind, text))
    }

    fn count(text: &[u8]) -> Result<i64, RedisError> {
        number(text, 0, text.len())
    }

    /// The next element as an error reply, if it is one (the reply is then
    /// the error as redis-rs reads it, so it maps like any other call's).
    /// Moves past it only then.
    pub(crate) fn error(&mut self) -> Option<RedisError> {
        if self.buf.get(self.at) != Some(&b'-') {
            return None;
        }
        let start = self.at;
        self.header().ok()?;
        Some(match redis::parse_redis_value(&self.buf[start..self.at]) {
            Ok(redis::Value::ServerError(error)) => error.into(),
            _ => malformed("unreadable error reply"),
        })
    }

    /// The next element as an array: its length, 0 for a nil array.
    pub(crate) fn array(&mut self) -> Result<usize, RedisError> {
        if let Some(error) = self.error() {
            return Err(error);
        }
        match self.header()? {
            (b'*', text) => match Self::count(text)? {
                -1 => Ok(0),
                n => usize::try_from(n).map_err(|_| malformed("array length")),
            },
            (kind, _) => Err(malformed(format!(
                "expected an array, got {:?}",
                kind as char
            ))),
        }
    }

    /// The next element as a string (bulk or simple); `None` for nil.
    pub(crate) fn string(&mut self) -> Result<Option<&'a [u8]>, RedisError> {
        if let Some(error) = self.error() {
            return Err(error);
        }
        match self.header()? {
            (b'+', text) => Ok(Some(text)),
            (b'$', text) => match Self::count(text)? {
                -1 => Ok(None),
                len => {
                    let end = usize::try_from(len)
                        .ok()
                        .and_then(|len| self.at.checked_add(len))
                        .ok_or_else(|| malformed("bulk length"))?;
                    let bytes = self
                        .buf
                        .get(self.at..end)
                        .ok_or_else(|| malformed("reply ended early"))?;
                    self.at = end + 2;
                    Ok(Some(bytes))
                }
            },
            (kind, _) => Err(malformed(format!(
                "expected a string, got {:?}",
                kind as char
            ))),
        }
    }

    /// The next element as a string that must be there.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], RedisError> {
        self.string()?
            .ok_or_else(|| malformed("nil where a string was due"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &[u8] = b"*1\r\n*2\r\n$3\r\n0-1\r\n*2\r\n$1\r\ne\r\n$5\r\nhello\r\n";

    #[test]
    fn a_reply_is_complete_only_when_all_of_it_has_arrived() {
        for cut in 0..ENTRY.len() {
            assert_eq!(
                complete(&ENTRY[..cut], 0).expect("a prefix is not an error"),
                None,
                "cut at {cut}"
            );
        }
        assert_eq!(complete(ENTRY, 0).expect("whole"), Some(ENTRY.len()));
        let two = [ENTRY, b"$-1\r\n".as_slice()].concat();
        assert_eq!(complete(&two, ENTRY.len()).expect("nil"), Some(two.len()));
    }

    #[test]
    fn what_cannot_be_resp_is_an_error() {
        for broken in [
            b"?x\r\n".as_slice(),
            b"$3\r\nabcd\r\n",
            b"*x\r\n",
            b"*\r\n",
            b"$+3\r\n",
            b"$-2\r\n",
            b":1\rx",
        ] {
            assert!(
                complete(broken, 0).is_err(),
                "{:?}",
                String::from_utf8_lossy(broken)
            );
        }
    }

    #[test]
    fn a_walk_reads_strings_arrays_and_nils_in_place() {
        let mut reply = Reply::new(ENTRY);
        assert_eq!(reply.array().expect("entries"), 1);
        assert_eq!(reply.array().expect("entry"), 2);
        assert_eq!(reply.bytes().expect("id"), b"0-1");
        assert_eq!(reply.array().expect("fields"), 2);
        assert_eq!(reply.bytes().expect("name"), b"e");
        assert_eq!(reply.bytes().expect("value"), b"hello");
        let mut nils = Reply::new(b"*2\r\n$-1\r\n+OK\r\n*-1\r\n");
        assert_eq!(nils.array().expect("pair"), 2);
        assert_eq!(nils.string().expect("nil"), None);
        assert_eq!(nils.string().expect("simple"), Some(b"OK".as_slice()));
        assert_eq!(nils.array().expect("nil array"), 0);
    }

    #[test]
    fn an_error_reply_reads_as_redis_rs_reads_it() {
        let mut reply = Reply::new(b"-LOADING Redis is loading the dataset in memory\r\n");
        let error = reply.array().expect_err("an error reply");
        assert_eq!(error.code(), Some("LOADING"));
        let mut shape = Reply::new(b":5\r\n");
        assert_eq!(
            shape.array().expect_err("not an array").kind(),
            ErrorKind::Parse
        );
    }
}
