//! How `subscriptions list|get` print a subscription as text.

use api::types::{
    DeadLetterPolicySpec, RetryPolicySpec, StartPosition, Subscription, SubscriptionStats,
};
use serde::Serialize;

use crate::output::{TextTable, age_text, fields};

pub(super) fn subscriptions_table(subscriptions: &[Subscription]) -> String {
    let mut table = TextTable::new(&[
        "name",
        "topic",
        "type",
        "ack deadline",
        "ordering",
        "start",
        "created",
    ]);
    for s in subscriptions {
        table.row(vec![
            TextTable::text(&s.name),
            TextTable::text(&s.topic),
            TextTable::text(kind_text(s)),
            TextTable::text(format!("{}s", s.ack_deadline_seconds)),
            TextTable::text(yes_no(s.enable_message_ordering)),
            TextTable::text(start_text(s.start_position)),
            TextTable::text(&s.create_time),
        ]);
    }
    table.render()
}

/// Settings as labelled lines, then the per-partition backlog when the server sent stats.
pub(super) fn subscription_text(s: &Subscription) -> String {
    let mut rows = vec![
        ("name", s.name.clone()),
        ("topic", s.topic.clone()),
        ("type", kind_text(s)),
        ("ack deadline", format!("{}s", s.ack_deadline_seconds)),
        ("ordering", yes_no(s.enable_message_ordering).to_owned()),
        ("start", start_text(s.start_position).to_owned()),
        ("delivery mode", wire_text(&s.delivery_mode)),
        ("retry backoff", retry_text(s.retry_policy.as_ref())),
        (
            "dead letters",
            dead_letter_text(s.dead_letter_policy.as_ref()),
        ),
        ("push", push_text(s)),
        ("created", s.create_time.clone()),
    ];
    let Some(stats) = &s.stats else {
        return fields(&rows);
    };
    rows.push(("backlog", stats.backlog_messages.to_string()));
    rows.push(("outstanding", stats.outstanding_messages.to_string()));
    rows.push(("oldest unacked", age_text(stats.oldest_unacked_age_seconds)));
    rows.push(("expired", stats.expired_messages.to_string()));
    rows.push(("dead-lettered", stats.dead_lettered_messages.to_string()));
    rows.push(("parked keys", parked_text(&stats.parked_ordering_keys)));
    format!("{}\n\n{}", fields(&rows), partitions_table(stats))
}

fn push_text(s: &Subscription) -> String {
    match &s.push_config {
        None => "no (pull and stream)".to_owned(),
        Some(push) => format!(
            "{} (max {} in flight, {})",
            push.endpoint,
            push.max_outstanding,
            if push.secret_set {
                "signed"
            } else {
                "unsigned"
            }
        ),
    }
}

fn partitions_table(stats: &SubscriptionStats) -> String {
    let mut table = TextTable::new(&["partition", "backlog", "outstanding", "oldest unacked"]);
    for p in &stats.partitions {
        table.row(vec![
            TextTable::number(p.partition),
            TextTable::number(p.backlog_messages),
            TextTable::number(p.outstanding_messages),
            TextTable::number(age_text(p.oldest_unacked_age_seconds)),
        ]);
    }
    table.render()
}

fn retry_text(policy: Option<&RetryPolicySpec>) -> String {
    let Some(policy) = policy else {
        return "none: failed messages are delivered again at once".to_owned();
    };
    let bound = |d: Option<api::duration::Duration>| {
        d.map_or_else(|| "server default".to_owned(), |d| d.to_string())
    };
    format!(
        "{} doubling to {}",
        bound(policy.minimum_backoff),
        bound(policy.maximum_backoff)
    )
}

fn dead_letter_text(policy: Option<&DeadLetterPolicySpec>) -> String {
    let Some(policy) = policy else {
        return "none".to_owned();
    };
    match policy.max_delivery_attempts {
        Some(attempts) => format!("to {} after {attempts} attempts", policy.dead_letter_topic),
        None => format!("to {}", policy.dead_letter_topic),
    }
}

fn parked_text(keys: &[String]) -> String {
    if keys.is_empty() {
        "none".to_owned()
    } else {
        keys.join(", ")
    }
}

/// The wire name of the type (`shared`), so people and scripts see the same word.
fn kind_text(s: &Subscription) -> String {
    wire_text(&s.kind)
}

/// The JSON name of a unit enum value (`at-least-once`).
fn wire_text<T: Serialize + std::fmt::Debug>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{value:?}"))
}

fn start_text(start: StartPosition) -> &'static str {
    match start {
        StartPosition::Latest => "latest",
        StartPosition::Earliest => "earliest",
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use api::duration::Duration;
    use api::types::{DeliveryMode, PartitionBacklog, SubscriptionType};

    use super::*;

    fn sample() -> Subscription {
        Subscription {
            name: "billing".to_owned(),
            topic: "orders".to_owned(),
            kind: SubscriptionType::Shared,
            ack_deadline_seconds: 30,
            enable_message_ordering: true,
            start_position: StartPosition::Earliest,
            retry_policy: None,
            dead_letter_policy: None,
            delivery_mode: Default::default(),
            push_config: None,
            group: None,
            create_time: "2026-11-25T17:42:02.123Z".to_owned(),
            stats: Some(SubscriptionStats {
                backlog_messages: 5,
                outstanding_messages: 1,
                oldest_unacked_age_seconds: Some(1.5),
                expired_messages: 0,
                dead_lettered_messages: 0,
                parked_ordering_keys: Vec::new(),
                partitions: vec![PartitionBacklog {
                    partition: 0,
                    backlog_messages: 5,
                    outstanding_messages: 1,
                    oldest_unacked_age_seconds: Some(1.5),
                }],
            }),
        }
    }

    #[test]
    fn get_shows_settings_then_backlog_per_partition() {
        let text = subscription_text(&sample());
        assert!(
            text.starts_with(
                "name:            billing\ntopic:           orders\ntype:            shared"
            ),
            "{text}"
        );
        for line in [
            "delivery mode:   at-least-once",
            "retry backoff:   none: failed messages are delivered again at once",
            "dead letters:    none",
            "backlog:         5\noutstanding:     1\noldest unacked:  1.5s\nexpired:         0\n\
             dead-lettered:   0\nparked keys:     none",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
        assert!(
            text.ends_with(
                "PARTITION  BACKLOG  OUTSTANDING  OLDEST UNACKED\n        \
                 0        5            1            1.5s"
            ),
            "{text}"
        );
    }

    #[test]
    fn get_shows_policies_parked_keys_and_missing_ages() {
        let mut s = sample();
        s.retry_policy = Some(RetryPolicySpec {
            minimum_backoff: Some(Duration::from_secs(10)),
            maximum_backoff: Some(Duration::from_secs(600)),
        });
        s.dead_letter_policy = Some(DeadLetterPolicySpec {
            dead_letter_topic: "orders-dlq".to_owned(),
            max_delivery_attempts: Some(5),
        });
        s.delivery_mode = DeliveryMode::ExactlyOnce;
        if let Some(stats) = &mut s.stats {
            stats.oldest_unacked_age_seconds = None;
            stats.dead_lettered_messages = 2;
            stats.parked_ordering_keys = vec!["acct-a".to_owned(), "acct-b".to_owned()];
        }
        let text = subscription_text(&s);
        for line in [
            "delivery mode:   exactly-once",
            "retry backoff:   10s doubling to 600s",
            "dead letters:    to orders-dlq after 5 attempts",
            "oldest unacked:  -",
            "dead-lettered:   2",
            "parked keys:     acct-a, acct-b",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
    }

    #[test]
    fn list_has_a_row_per_subscription() {
        let text = subscriptions_table(&[sample()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[1].starts_with("billing  orders  shared  30s"),
            "{text}"
        );
        assert!(
            lines[1].contains("yes") && lines[1].contains("earliest"),
            "{text}"
        );
    }
}
