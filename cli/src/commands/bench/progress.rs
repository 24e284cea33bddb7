//! The live progress line on stderr, redrawn in place while a run goes on. Only when
//! stderr is a terminal: a log file or a pipe gets nothing.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bench::report::thousands;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::tally::Tally;

/// How often the line is redrawn.
const REFRESH: Duration = Duration::from_millis(250);

/// Starts redrawing until `stop` is cancelled; `None` when stderr is not a terminal.
pub fn start(
    tally: Arc<Tally>,
    target: Option<u64>,
    stop: CancellationToken,
) -> Option<JoinHandle<()>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(REFRESH);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = ticks.tick() => {}
            }
            let line = line(
                tally.published.load(Ordering::Relaxed),
                tally.received(),
                target,
                tally.epoch.elapsed(),
            );
            // Progress is a courtesy: a failed write to the terminal is not an error.
            let _ignored = write!(std::io::stderr(), "\r\x1b[2K{line}");
        }
        let _ignored = write!(std::io::stderr(), "\r\x1b[2K");
    }))
}

/// `published 120,000/200,000  received 118,500  3.2 s`.
fn line(published: u64, received: u64, target: Option<u64>, elapsed: Duration) -> String {
    let of = target
        .map(|t| format!("/{}", thousands(t)))
        .unwrap_or_default();
    format!(
        "published {}{of}  received {}  {:.1} s",
        thousands(published),
        thousands(received),
        elapsed.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_counts_against_the_target() {
        assert_eq!(
            line(
                120_000,
                118_500,
                Some(200_000),
                Duration::from_millis(3_210)
            ),
            "published 120,000/200,000  received 118,500  3.2 s"
        );
        assert_eq!(
            line(5, 4, None, Duration::from_secs(1)),
            "published 5  received 4  1.0 s"
        );
    }
}
