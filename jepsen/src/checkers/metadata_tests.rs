//! `linearizable-metadata` fed good histories (they pass) and hand-made bad
//! ones (they fail, naming the name and where it breaks).

use crate::checkers::linearizable_metadata;
use crate::history::{Event, History, Kind, Op};

/// Events in the order they happened; times advance by 10 ms per event.
#[derive(Default)]
struct Story {
    events: Vec<Event>,
}

impl Story {
    fn time(&self) -> u64 {
        self.events.len() as u64 * 10
    }

    /// `process` invokes `f` on topic `name`.
    fn invoke(mut self, process: u64, f: Op, name: &str) -> Self {
        let mut event = Event::new(self.time(), process, Kind::Invoke, f);
        event.topic = Some(name.to_owned());
        self.events.push(event);
        self
    }

    /// `process`'s open operation completes `kind`, with `error` if any.
    fn complete(mut self, process: u64, kind: Kind, error: Option<&str>) -> Self {
        let invoke = self
            .events
            .iter()
            .rev()
            .find(|e| e.process == process && e.kind == Kind::Invoke)
            .cloned()
            .expect("an invocation");
        let mut done = invoke.completed(self.time(), kind);
        done.error = error.map(str::to_owned);
        self.events.push(done);
        self
    }

    /// An operation invoked and completed before the next begins.
    fn op(self, process: u64, f: Op, name: &str, kind: Kind, error: Option<&str>) -> Self {
        self.invoke(process, f, name).complete(process, kind, error)
    }

    fn check(self) -> crate::checkers::Outcome {
        linearizable_metadata(&History::new(self.events))
    }
}

const EXISTS: Option<&str> = Some("409 ALREADY_EXISTS");
const MISSING: Option<&str> = Some("404 TOPIC_NOT_FOUND");

#[test_log::test]
fn a_sequential_life_of_create_read_delete_passes() {
    let outcome = Story::default()
        .op(1, Op::Read, "m-0", Kind::Fail, MISSING)
        .op(1, Op::Create, "m-0", Kind::Ok, None)
        .op(2, Op::Create, "m-0", Kind::Fail, EXISTS)
        .op(2, Op::Read, "m-0", Kind::Ok, None)
        .op(2, Op::Delete, "m-0", Kind::Ok, None)
        .op(1, Op::Delete, "m-0", Kind::Fail, MISSING)
        .op(1, Op::Create, "m-0", Kind::Ok, None)
        .check();
    assert!(outcome.passed, "{outcome:?}");
    assert_eq!(
        outcome.get("operations"),
        6,
        "the found read is not checked"
    );
}

#[test_log::test]
fn two_creates_of_one_name_may_overlap_but_only_one_succeeds() {
    let one_wins = Story::default()
        .invoke(1, Op::Create, "m-1")
        .invoke(2, Op::Create, "m-1")
        .complete(2, Kind::Fail, EXISTS)
        .complete(1, Kind::Ok, None)
        .check();
    assert!(one_wins.passed, "{one_wins:?}");

    tracing::info!("both acknowledged, no delete between: a split brain");
    let both_win = Story::default()
        .invoke(1, Op::Create, "m-1")
        .invoke(2, Op::Create, "m-1")
        .complete(2, Kind::Ok, None)
        .complete(1, Kind::Ok, None)
        .check();
    assert!(!both_win.passed);
    assert!(both_win.examples[0].starts_with("m-1:"), "{both_win:?}");
}

#[test_log::test]
fn a_not_found_after_an_acknowledged_create_is_a_stale_read() {
    let outcome = Story::default()
        .op(1, Op::Create, "m-2", Kind::Ok, None)
        .op(2, Op::Read, "m-2", Kind::Fail, MISSING)
        .check();
    assert!(!outcome.passed);
    assert_eq!(outcome.get("violations"), 1);
    assert!(outcome.examples[0].contains("saw it absent"), "{outcome:?}");

    tracing::info!("the same read while the create is still running: fine");
    let concurrent = Story::default()
        .invoke(1, Op::Create, "m-2")
        .op(2, Op::Read, "m-2", Kind::Fail, MISSING)
        .complete(1, Kind::Ok, None)
        .check();
    assert!(concurrent.passed, "{concurrent:?}");
}

#[test_log::test]
fn a_deleted_name_that_still_exists_for_a_create_is_caught() {
    let outcome = Story::default()
        .op(1, Op::Create, "m-0", Kind::Ok, None)
        .op(1, Op::Delete, "m-0", Kind::Ok, None)
        .op(2, Op::Create, "m-0", Kind::Fail, EXISTS)
        .check();
    assert!(!outcome.passed, "{outcome:?}");
}

#[test_log::test]
fn an_unknown_outcome_may_or_may_not_have_taken_effect() {
    let took_effect = Story::default()
        .op(1, Op::Create, "m-0", Kind::Info, Some("timeout"))
        .op(2, Op::Create, "m-0", Kind::Fail, EXISTS)
        .check();
    assert!(took_effect.passed, "{took_effect:?}");
    let did_not = Story::default()
        .op(1, Op::Create, "m-0", Kind::Info, Some("timeout"))
        .op(2, Op::Read, "m-0", Kind::Fail, MISSING)
        .op(2, Op::Create, "m-0", Kind::Ok, None)
        .check();
    assert!(did_not.passed, "{did_not:?}");

    tracing::info!("a definite failure other than the register's own answers says nothing");
    let unavailable = Story::default()
        .op(1, Op::Create, "m-0", Kind::Fail, Some("503 UNAVAILABLE"))
        .op(2, Op::Read, "m-0", Kind::Fail, MISSING)
        .check();
    assert!(unavailable.passed, "{unavailable:?}");

    tracing::info!("but a definite create failure cannot have created it");
    let failed = Story::default()
        .op(1, Op::Delete, "m-0", Kind::Ok, None)
        .op(1, Op::Create, "m-0", Kind::Fail, Some("503 UNAVAILABLE"))
        .op(2, Op::Create, "m-0", Kind::Fail, EXISTS)
        .check();
    assert!(!failed.passed, "{failed:?}");
}

#[test_log::test]
fn names_are_checked_apart() {
    let outcome = Story::default()
        .op(1, Op::Create, "m-0", Kind::Ok, None)
        .op(2, Op::Create, "m-1", Kind::Ok, None)
        .op(1, Op::Read, "m-1", Kind::Ok, None)
        .op(2, Op::Read, "m-2", Kind::Fail, MISSING)
        .check();
    assert!(outcome.passed, "{outcome:?}");
    assert_eq!(outcome.get("names"), 3);
}
