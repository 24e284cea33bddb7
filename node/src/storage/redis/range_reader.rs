//! [`RangeReader`]: the reads of a cursor call (a lease, an ack, statistics:
//! `HMGET` of a partition's bounds and its `XRANGE`s, one pipelined round
//! trip, see `fetch`) on connections of their own, with each reply read
//! straight from its bytes (`resp`).
//!
//! Why: the redis crate hands out every reply as a `redis::Value` tree, a
//! value per field of every entry read. On target 1's row, building and
//! dropping those trees was about a fifth of the broker's CPU (BENCHMARKS.md,
//! issue 18). Here a read copies each field it keeps once and builds nothing
//! else.
//!
//! - Used for a standalone server over plain TCP. A `rediss://` or Unix
//!   socket URL and Redis Cluster read through the redis crate as before (TLS
//!   and redirects are its job).
//! - Each read holds one connection for its round trip; idle ones are kept
//!   for the next read. At most [`MAX_READERS`] reads run here at once; one
//!   that finds them all busy goes through the redis crate instead of
//!   waiting. A read dropped midway (its timeout, a caller gone) drops its
//!   connection with it, so no connection is kept with a reply still on its
//!   way.
//! - Timeouts as for every call: connect, response, and the overall bound.
//! - Reads change nothing, so one may be sent twice: a kept connection that
//!   turns out broken (Redis restarted while it sat idle) is replaced and the
//!   read sent again once, on a fresh connection.
//! - Order: a read sees every write whose reply arrived before the read was
//!   sent, as on the shared connection. Reads racing with writes, or with
//!   each other, were never ordered (they come from different tasks); what
//!   keeps a late read from going back in time is the message cache's version
//!   check (`fetch::Read::apply_for`).

use std::sync::Mutex;
use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, RedisError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::resp::{Reply, complete};

/// Most reads one broker node runs on its own connections at once (and so
/// most such connections).
pub(crate) const MAX_READERS: usize = 8;

/// A kept connection's buffer shrinks back to this after a larger reply.
const KEPT_BUFFER_BYTES: usize = 256 * 1024;

/// Reads a lease's messages on connections of its own (see the module docs).
pub(crate) struct RangeReader {
    host: String,
    port: u16,
    /// `AUTH` (and `SELECT`) each new connection sends first, encoded.
    hello: Vec<u8>,
    hello_replies: usize,
    connect_timeout: Duration,
    response_timeout: Duration,
    overall_timeout: Duration,
    idle: Mutex<Vec<Link>>,
    permits: Semaphore,
}

impl std::fmt::Debug for RangeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeReader")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// One connection and the buffer its replies arrive in.
struct Link {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// The whole replies of one read, on the connection that read them; the
/// connection is kept for the next read when this is dropped.
pub(crate) struct Replies<'r> {
    link: Option<Link>,
    reader: &'r RangeReader,
    _permit: SemaphorePermit<'r>,
}

impl Replies<'_> {
    /// A walk over the replies, in the order their commands were sent.
    pub(crate) fn walk(&self) -> Reply<'_> {
        Reply::new(self.link.as_ref().map_or(&[], |link| &link.buf))
    }
}

impl Drop for Replies<'_> {
    fn drop(&mut self) {
        if let Some(mut link) = self.link.take() {
            link.buf.clear();
            link.buf.shrink_to(KEPT_BUFFER_BYTES);
            self.reader
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(link);
        }
    }
}

/// Appends one command (`*n`, then each argument as a bulk string) to `out`.
pub(crate) fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

impl RangeReader {
    /// A reader for `info`, or `None` where reads stay on the redis crate
    /// (TLS, a Unix socket).
    pub(crate) fn for_server(
        info: &ConnectionInfo,
        connect_timeout: Duration,
        response_timeout: Duration,
        overall_timeout: Duration,
    ) -> Option<Self> {
        let ConnectionAddr::Tcp(host, port) = info.addr() else {
            return None;
        };
        let settings = info.redis_settings();
        let mut hello = Vec::new();
        let mut hello_replies = 0;
        if let Some(password) = settings.password() {
            let mut auth: Vec<&[u8]> = vec![b"AUTH"];
            auth.extend(settings.username().map(str::as_bytes));
            auth.push(password.as_bytes());
            encode(&mut hello, &auth);
            hello_replies += 1;
        }
        if settings.db() != 0 {
            encode(
                &mut hello,
                &[b"SELECT", settings.db().to_string().as_bytes()],
            );
            hello_replies += 1;
        }
        Some(Self {
            host: host.clone(),
            port: *port,
            hello,
            hello_replies,
            connect_timeout,
            response_timeout,
            overall_timeout,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(MAX_READERS),
        })
    }

    /// One of the reader's [`MAX_READERS`] slots, if one is free. A read
    /// that finds none goes through the redis crate instead of queueing
    /// here, so a few large reads never hold up the others.
    pub(crate) fn slot(&self) -> Option<Slot<'_>> {
        let permit = self.permits.try_acquire().ok()?;
        Some(Slot {
            reader: self,
            permit,
        })
    }

    /// A new connection, after its `AUTH` and `SELECT`, that has sent
    /// `request` and read its replies.
    async fn fresh(&self, request: &[u8], replies: usize) -> Result<Link, RedisError> {
        let connecting = TcpStream::connect((self.host.as_str(), self.port));
        let stream = tokio::time::timeout(self.connect_timeout, connecting)
            .await
            .map_err(|_| timed_out("timed out connecting to Redis"))??;
        stream.set_nodelay(true)?;
        let mut link = Link {
            stream,
            buf: Vec::new(),
        };
        if self.hello_replies > 0 {
            self.exchange(&mut link, &self.hello, self.hello_replies)
                .await?;
            let mut reply = Reply::new(&link.buf);
            for _ in 0..self.hello_replies {
                reply.bytes()?;
            }
        }
        self.exchange(&mut link, request, replies).await?;
        Ok(link)
    }

    /// Sends `request` on `link` and reads until `replies` whole replies are
    /// in its buffer, within the response timeout.
    async fn exchange(
        &self,
        link: &mut Link,
        request: &[u8],
        replies: usize,
    ) -> Result<(), RedisError> {
        tokio::time::timeout(self.response_timeout, exchange(link, request, replies))
            .await
            .unwrap_or_else(|_| Err(timed_out("Redis did not answer in time")))
    }
}

/// A free slot of the reader: one read on one of its connections.
pub(crate) struct Slot<'r> {
    reader: &'r RangeReader,
    permit: SemaphorePermit<'r>,
}

impl<'r> Slot<'r> {
    /// Sends `request` (encoded commands, `replies` of them) and reads their
    /// replies, within the overall timeout.
    pub(crate) async fn send(
        self,
        request: &[u8],
        replies: usize,
    ) -> Result<Replies<'r>, RedisError> {
        let reader = self.reader;
        tokio::time::timeout(reader.overall_timeout, self.send_untimed(request, replies))
            .await
            .unwrap_or_else(|_| Err(timed_out("Redis did not answer in time")))
    }

    async fn send_untimed(self, request: &[u8], replies: usize) -> Result<Replies<'r>, RedisError> {
        let reader = self.reader;
        let kept = reader.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let link = match kept {
            Some(mut link) => match reader.exchange(&mut link, request, replies).await {
                Ok(()) => link,
                // Broken while it sat idle: a read may be sent again. (A
                // timeout is Redis being slow, not the connection broken.)
                Err(e) if e.is_io_error() && !e.is_timeout() => {
                    reader.fresh(request, replies).await?
                }
                Err(e) => return Err(e),
            },
            None => reader.fresh(request, replies).await?,
        };
        Ok(Replies {
            link: Some(link),
            reader,
            _permit: self.permit,
        })
    }
}

/// A timeout, as an I/O error: a read's failure to reach Redis in time,
/// `Unavailable` like any other (`connection::storage_error`).
fn timed_out(what: &'static str) -> RedisError {
    RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, what))
}

/// Sends `request` on `link` and reads until `replies` whole replies are in
/// its buffer.
async fn exchange(link: &mut Link, request: &[u8], replies: usize) -> Result<(), RedisError> {
    link.stream.write_all(request).await?;
    link.buf.clear();
    let (mut whole, mut scanned) = (0, 0);
    while whole < replies {
        if link.buf.capacity() - link.buf.len() < 16 * 1024 {
            link.buf.reserve(64 * 1024);
        }
        if link.stream.read_buf(&mut link.buf).await? == 0 {
            return Err(RedisError::from(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "Redis closed the connection",
            )));
        }
        while whole < replies {
            match complete(&link.buf, scanned)? {
                Some(end) => {
                    scanned = end;
                    whole += 1;
                }
                None => break,
            }
        }
    }
    if scanned != link.buf.len() {
        return Err(RedisError::from((
            redis::ErrorKind::Parse,
            "malformed Redis reply",
            "more bytes than replies".to_owned(),
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use redis::IntoConnectionInfo;

    use super::*;

    fn reader_for(url: &str) -> Option<RangeReader> {
        let info = url.into_connection_info().expect("a valid URL");
        let second = Duration::from_secs(1);
        RangeReader::for_server(&info, second, second, second)
    }

    #[test]
    fn only_plain_tcp_servers_get_a_reader() {
        assert!(reader_for("redis://127.0.0.1:6390").is_some());
        assert!(reader_for("rediss://127.0.0.1:6390").is_none(), "TLS");
        assert!(
            reader_for("redis+unix:///tmp/redis.sock").is_none(),
            "Unix socket"
        );
    }

    #[test]
    fn a_read_that_finds_every_slot_taken_is_sent_elsewhere() {
        let reader = reader_for("redis://127.0.0.1:6390").expect("a reader");
        let taken: Vec<_> = (0..MAX_READERS).map_while(|_| reader.slot()).collect();
        assert_eq!(taken.len(), MAX_READERS);
        assert!(reader.slot().is_none(), "no ninth read at once");
        drop(taken);
        assert!(reader.slot().is_some(), "free again");
    }

    #[test]
    fn a_new_connection_logs_in_and_selects_as_the_url_says() {
        let reader = reader_for("redis://reader:pw@127.0.0.1:6390/3").expect("a reader");
        let mut expected = Vec::new();
        encode(&mut expected, &[b"AUTH", b"reader", b"pw"]);
        encode(&mut expected, &[b"SELECT", b"3"]);
        assert_eq!((reader.hello, reader.hello_replies), (expected, 2));
        let plain = reader_for("redis://127.0.0.1:6390").expect("a reader");
        assert_eq!(plain.hello_replies, 0, "nothing to send first");
    }
}
