//! [`Recorder`]: where workers and the nemesis append their events, stamped
//! with milliseconds since the run began, and where process ids come from.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use api::ClientError;

use crate::history::{Event, History, Kind};

/// The shared history of a run.
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    events: Mutex<Vec<Event>>,
    next_process: AtomicU64,
    /// Publishers stop when set.
    pub stop_publishing: AtomicBool,
    /// Consumers stop when set.
    pub stop_consuming: AtomicBool,
}

impl Recorder {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            events: Mutex::new(Vec::new()),
            next_process: AtomicU64::new(1),
            stop_publishing: AtomicBool::new(false),
            stop_consuming: AtomicBool::new(false),
        })
    }

    /// Milliseconds since the run began.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// A fresh process id (a retired process's worker takes a new one).
    pub fn process(&self) -> u64 {
        self.next_process.fetch_add(1, Ordering::Relaxed)
    }

    /// Appends `event` with its time set to now; returns it.
    pub fn record(&self, mut event: Event) -> Event {
        event.time = self.now();
        if let Ok(mut events) = self.events.lock() {
            events.push(event.clone());
        }
        event
    }

    /// The history so far.
    pub fn history(&self) -> History {
        History::new(self.events.lock().map(|e| e.clone()).unwrap_or_default())
    }

    pub fn publishing(&self) -> bool {
        !self.stop_publishing.load(Ordering::Relaxed)
    }

    pub fn consuming(&self) -> bool {
        !self.stop_consuming.load(Ordering::Relaxed)
    }
}

/// How a failed call completes: `fail` when it definitely did not happen (a
/// problem answer whose code the API calls definite, every code but
/// `OUTCOME_UNKNOWN` and `INTERNAL`: `api::ErrorCode::definite`, the table in
/// docs/api.md; or no connection was made), else `info`.
pub fn classify(error: &ClientError) -> Kind {
    match error {
        ClientError::Api(problem) if problem.code.definite() => Kind::Fail,
        ClientError::Transport { source, .. } if source.is_connect() => Kind::Fail,
        ClientError::InvalidUrl { .. } => Kind::Fail,
        _ => Kind::Info,
    }
}

/// A short description of `error` for the history.
pub fn describe(error: &ClientError) -> String {
    match error {
        ClientError::Api(problem) => format!("{} {}", problem.status, problem.code),
        ClientError::Transport { source, .. } if source.is_timeout() => "timeout".to_owned(),
        ClientError::Transport { source, .. } if source.is_connect() => "connect".to_owned(),
        ClientError::Transport { .. } => "transport".to_owned(),
        other => other.to_string().chars().take(120).collect(),
    }
}

#[cfg(test)]
mod tests {
    use api::{ErrorCode, Problem};

    use super::*;

    #[test]
    fn a_problem_is_a_definite_failure_exactly_when_the_api_calls_its_code_definite() {
        for &code in ErrorCode::ALL {
            let kind = classify(&ClientError::Api(Problem::new(code, "")));
            let expected = if code.definite() {
                Kind::Fail
            } else {
                Kind::Info
            };
            assert_eq!(kind, expected, "{code}");
        }
        let unknown = [ErrorCode::OutcomeUnknown, ErrorCode::Internal];
        for code in unknown {
            assert_eq!(
                classify(&ClientError::Api(Problem::new(code, ""))),
                Kind::Info
            );
        }
        let unavailable = ClientError::Api(Problem::new(ErrorCode::Unavailable, ""));
        assert_eq!(classify(&unavailable), Kind::Fail);
    }
}
