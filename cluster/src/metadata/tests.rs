//! Unit tests of [`Metadata::apply`](super::Metadata::apply) and its lookups.

use super::*;
use crate::{MemberId, SubscriptionConfig, TopicConfig};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn topic(name: &str) -> TopicName {
    TopicName::new(name).expect("valid name")
}
fn sub(name: &str) -> SubscriptionName {
    SubscriptionName::new(name).expect("valid name")
}
fn create_topic(name: &str) -> Command {
    Command::CreateTopic {
        name: topic(name),
        config: TopicConfig::default(),
        at_millis: 1,
    }
}
fn create_sub(name: &str, on: &str) -> Command {
    Command::CreateSubscription {
        name: sub(name),
        config: SubscriptionConfig::new(topic(on)),
        at_millis: 2,
    }
}

#[test]
fn create_twice_is_already_exists_and_changes_nothing() {
    let mut md = Metadata::default();
    md.apply(create_topic("orders")).expect("first create");
    let before = md.clone();
    let err = md.apply(create_topic("orders")).expect_err("second create");
    assert_eq!(
        err,
        MetadataError::TopicAlreadyExists {
            name: "orders".into()
        }
    );
    assert_eq!(md, before);
}

#[test]
fn subscription_needs_its_topic() {
    let mut md = Metadata::default();
    let err = md
        .apply(create_sub("s-1", "missing"))
        .expect_err("no topic");
    assert_eq!(
        err,
        MetadataError::TopicNotFound {
            name: "missing".into()
        }
    );
}

#[test]
fn deleting_a_topic_removes_its_subscriptions_only() {
    let mut md = Metadata::default();
    md.apply(create_topic("orders")).expect("topic");
    md.apply(create_topic("audit")).expect("topic");
    md.apply(create_sub("billing", "orders")).expect("sub");
    md.apply(create_sub("archive", "audit")).expect("sub");
    let reply = md
        .apply(Command::DeleteTopic {
            name: topic("orders"),
        })
        .expect("delete");
    let Reply::TopicDeleted { subscriptions, .. } = reply else {
        panic!("unexpected reply {reply:?}");
    };
    assert_eq!(subscriptions, vec![sub("billing")]);
    assert!(md.subscription(&sub("billing")).is_none());
    assert!(md.subscription(&sub("archive")).is_some());
}

#[test]
fn paging_walks_every_topic_once() {
    let mut md = Metadata::default();
    for i in 0..7 {
        md.apply(create_topic(&format!("topic-{i}")))
            .expect("create");
    }
    let mut seen = Vec::new();
    let mut after: Option<TopicName> = None;
    loop {
        let page = md.topics_after(after.as_ref(), 3);
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().map(|t| t.name.to_string()));
        after = page.last().map(|t| t.name.clone());
    }
    let expected: Vec<String> = (0..7).map(|i| format!("topic-{i}")).collect();
    assert_eq!(seen, expected);
}

fn create_topic_with(name: &str, partitions: u32) -> Command {
    Command::CreateTopic {
        name: topic(name),
        config: TopicConfig {
            partitions,
            ..TopicConfig::default()
        },
        at_millis: 1,
    }
}
fn create_partitioned(name: &str, on: &str) -> Command {
    let mut config = SubscriptionConfig::new(topic(on));
    config.kind = SubscriptionType::Partitioned;
    Command::CreateSubscription {
        name: sub(name),
        config,
        at_millis: 2,
    }
}
fn member(name: &str) -> MemberId {
    MemberId::new(name).expect("valid member id")
}

#[test]
fn group_commands_need_a_partitioned_subscription() {
    let mut md = Metadata::default();
    md.apply(create_topic("orders")).expect("topic");
    md.apply(create_sub("shared", "orders")).expect("sub");
    let join = |s: &str| Command::JoinGroup {
        subscription: sub(s),
        member_id: member("m1"),
        session_timeout_millis: 10_000,
        at_millis: 5,
    };
    assert!(matches!(
        md.apply(join("shared")),
        Err(MetadataError::NotPartitioned { .. })
    ));
    assert!(matches!(
        md.apply(join("missing")),
        Err(MetadataError::SubscriptionNotFound { .. })
    ));
    assert!(md.group(&sub("shared")).is_none());
}

#[test]
fn a_group_lives_until_its_subscription_is_deleted() {
    let mut md = Metadata::default();
    md.apply(create_topic_with("orders", 4)).expect("topic");
    md.apply(create_partitioned("workers", "orders"))
        .expect("sub");
    let expire = Command::ExpireMembers {
        subscription: sub("workers"),
        at_millis: 0,
    };
    md.apply(expire.clone()).expect("no-op expiry");
    assert!(
        md.group(&sub("workers")).is_none(),
        "a no-op stores nothing"
    );

    let reply = md
        .apply(Command::JoinGroup {
            subscription: sub("workers"),
            member_id: member("m1"),
            session_timeout_millis: 10_000,
            at_millis: 0,
        })
        .expect("join");
    let Reply::GroupJoined(assignment) = reply else {
        panic!("unexpected reply {reply:?}");
    };
    assert_eq!(
        (assignment.generation, assignment.partitions),
        (1, vec![0, 1, 2, 3])
    );

    md.apply(Command::ExpireMembers {
        subscription: sub("workers"),
        at_millis: 10_000,
    })
    .expect("expiry");
    let group = md.group(&sub("workers")).expect("kept while empty");
    assert_eq!((group.generation(), group.members().len()), (2, 0));
    assert!(group.assignment().is_empty());

    md.apply(Command::DeleteTopic {
        name: topic("orders"),
    })
    .expect("delete");
    assert!(md.group(&sub("workers")).is_none());
}

fn arb_command() -> impl Strategy<Value = Command> {
    let names = prop::sample::select(vec!["aaa", "bbb", "ccc"]);
    let members = prop::sample::select(vec!["m0", "m1", "m2", "m3", "m4"]);
    let at = 0u64..60_000;
    prop_oneof![
        1 => names.clone().prop_map(create_topic),
        1 => (names.clone(), 1u32..8).prop_map(|(n, p)| create_topic_with(n, p)),
        1 => names
            .clone()
            .prop_map(|n| Command::DeleteTopic { name: topic(n) }),
        1 => (names.clone(), names.clone()).prop_map(|(s, t)| create_sub(s, t)),
        1 => (names.clone(), names.clone()).prop_map(|(s, t)| create_partitioned(s, t)),
        1 => names
            .clone()
            .prop_map(|n| Command::DeleteSubscription { name: sub(n) }),
        3 => (names.clone(), members.clone(), 5_000u64..21_000, at.clone()).prop_map(
            |(s, m, timeout, at)| Command::JoinGroup {
                subscription: sub(s),
                member_id: member(m),
                session_timeout_millis: timeout,
                at_millis: at,
            }
        ),
        2 => (names.clone(), members.clone(), 0u64..8, at.clone()).prop_map(
            |(s, m, generation, at)| Command::Heartbeat {
                subscription: sub(s),
                member_id: member(m),
                generation,
                at_millis: at,
            }
        ),
        1 => (names.clone(), members).prop_map(|(s, m)| Command::LeaveGroup {
            subscription: sub(s),
            member_id: member(m),
        }),
        1 => (names, at).prop_map(|(s, at)| Command::ExpireMembers {
            subscription: sub(s),
            at_millis: at,
        }),
    ]
}

/// Every group belongs to a partitioned subscription and covers its topic's
/// partitions exactly once, balanced, while it has members.
fn check_groups(md: &Metadata) -> Result<(), TestCaseError> {
    for (name, group) in md.groups() {
        let s = md.subscription(name);
        prop_assert!(s.is_some_and(|s| s.config.kind == SubscriptionType::Partitioned));
        let partitions = s
            .and_then(|s| md.topic(&s.config.topic))
            .map_or(0, |t| t.config.partitions);
        if group.members().is_empty() {
            prop_assert!(group.assignment().is_empty());
            continue;
        }
        let assigned: Vec<u32> = group.assignment().keys().copied().collect();
        prop_assert_eq!(assigned, (0..partitions).collect::<Vec<_>>());
        let counts: Vec<usize> = group
            .members()
            .keys()
            .map(|m| group.partitions_of(m).len())
            .collect();
        let (min, max) = (counts.iter().min(), counts.iter().max());
        prop_assert!(min.zip(max).is_some_and(|(lo, hi)| hi - lo <= 1));
    }
    Ok(())
}

proptest! {
    /// Any command sequence keeps the invariants, a failed command changes
    /// nothing, generations move exactly when assignments do, the state
    /// survives serialization, and replaying the commands gives the same state.
    #[test]
    fn apply_is_deterministic_and_keeps_invariants(commands in prop::collection::vec(arb_command(), 0..60)) {
        let mut a = Metadata::default();
        let mut b = Metadata::default();
        for command in commands {
            let before = a.clone();
            let ra = a.apply(command.clone());
            let rb = b.apply(command);
            prop_assert_eq!(&ra, &rb);
            if ra.is_err() {
                prop_assert_eq!(&a, &before);
            }
            for s in a.subscriptions.values() {
                prop_assert!(a.topics.contains_key(&s.config.topic));
            }
            check_groups(&a)?;
            for (name, old) in before.groups() {
                if let Some(new) = a.group(name) {
                    let expected = old.generation()
                        + u64::from(new.assignment() != old.assignment());
                    prop_assert_eq!(new.generation(), expected);
                }
            }
        }
        let json = serde_json::to_string(&a).expect("metadata serializes");
        let back: Metadata = serde_json::from_str(&json).expect("metadata deserializes");
        prop_assert_eq!(&back, &a);
        prop_assert_eq!(a, b);
    }
}
