//! Retry backoff, dead letters and redrive, parked keys, priorities, delay,
//! TTL, delivery modes and seek.

use crate::storage::Millis;
use cluster::subscription::{DeliveryMode, RetryPolicy, StartPosition};

use super::{
    DEADLINE, T0, arrange, arrange_with, lease, message, offsets_of, ordered, plain, refs, request,
    sub,
};
use crate::storage::{DeliveryPolicy, DeliveryRef, Nack, RedriveFilter, SeekTarget, Storage};

fn with_retry(min: u64, max: u64) -> DeliveryPolicy {
    DeliveryPolicy {
        retry: Some(RetryPolicy {
            minimum_backoff_millis: min,
            maximum_backoff_millis: max,
        }),
        ..DeliveryPolicy::default()
    }
}

fn with_attempts(max_attempts: u32, ordered: bool) -> DeliveryPolicy {
    DeliveryPolicy {
        max_attempts: Some(max_attempts),
        ordered,
        ..DeliveryPolicy::default()
    }
}

fn mode(mode: DeliveryMode) -> DeliveryPolicy {
    DeliveryPolicy {
        mode,
        ..DeliveryPolicy::default()
    }
}

/// The earliest time in `from..=to` (step 1 ms) at which a lease returns something.
async fn first_delivery(
    storage: &impl Storage,
    p: &crate::storage::PartitionRef,
    from: u64,
    to: u64,
    policy: DeliveryPolicy,
) -> (u64, u32) {
    let wake = storage
        .next_wakeup(&sub("s-1"), p, from - 1)
        .await
        .expect("wakeup")
        .expect("something is scheduled");
    assert!(
        (from..=to).contains(&wake),
        "wake-up {wake} outside [{from}, {to}]"
    );
    assert!(
        lease(storage, p, wake - 1, 10, policy).await.is_empty(),
        "nothing before the wake-up"
    );
    let got = lease(storage, p, wake, 10, policy).await;
    assert_eq!(got.len(), 1, "delivered at the wake-up");
    (wake, got[0].attempt)
}

pub async fn check_backoff_delays_redelivery(storage: impl Storage) {
    let p = arrange(&storage, "backoff", &[None]).await;
    let s = sub("s-1");
    let policy = with_retry(1_000, 8_000);
    let first = lease(&storage, &p, T0, 1, policy).await;
    storage
        .nack(&s, &p, &refs(&first), &Nack::default(), T0, policy)
        .await
        .expect("nack");
    let (t1, attempt) = first_delivery(&storage, &p, T0 + 1_000, T0 + 1_000, policy).await;
    assert_eq!(
        attempt, 2,
        "after attempt 1 the wait is exactly the minimum"
    );
    let second = DeliveryRef {
        offset: 0,
        attempt: 2,
    };
    storage
        .nack(&s, &p, &[second], &Nack::default(), t1, policy)
        .await
        .expect("nack");
    let (t2, attempt) = first_delivery(&storage, &p, t1 + 1_000, t1 + 2_000, policy).await;
    assert_eq!(
        attempt, 3,
        "after attempt 2 the wait is within [min, 2*min]"
    );
    tracing::info!("deadline expiry backs off the same way, counted from the deadline");
    let expired_at = t2 + DEADLINE;
    assert_eq!(
        storage.next_wakeup(&s, &p, t2).await.expect("wakeup"),
        Some(expired_at)
    );
    storage
        .lease(&s, &p, request(expired_at, 0, policy))
        .await
        .expect("process expiry");
    let (_, attempt) =
        first_delivery(&storage, &p, expired_at + 2_000, expired_at + 4_000, policy).await;
    assert_eq!(attempt, 4);
}

pub async fn check_explicit_nack_delay(storage: impl Storage) {
    let p = arrange(&storage, "nack-delay", &[None]).await;
    let policy = with_retry(1_000, 2_000);
    let first = lease(&storage, &p, T0, 1, policy).await;
    let nack = Nack {
        delay_millis: Some(5_000),
        reason: None,
    };
    storage
        .nack(&sub("s-1"), &p, &refs(&first), &nack, T0, policy)
        .await
        .expect("nack");
    let (at, attempt) = first_delivery(&storage, &p, T0 + 5_000, T0 + 5_000, policy).await;
    assert_eq!(
        (at, attempt),
        (T0 + 5_000, 2),
        "the explicit delay replaces the backoff"
    );
}

pub async fn check_dead_letter_and_redrive(storage: impl Storage) {
    let p = arrange(&storage, "dead-letters", &[None, None]).await;
    storage
        .create_subscription(&sub("s-2"), &p.topic, 1, StartPosition::Earliest)
        .await
        .expect("second subscription");
    let s = sub("s-1");
    let policy = with_attempts(5, false);
    let reason = Nack {
        delay_millis: None,
        reason: Some("cannot parse".to_owned()),
    };
    let mut now = T0;
    for attempt in 1..=5 {
        let got = lease(&storage, &p, now, 1, policy).await;
        assert_eq!((offsets_of(&got), got[0].attempt), (vec![0], attempt));
        let dead = storage
            .nack(&s, &p, &refs(&got), &reason, now, policy)
            .await
            .expect("nack");
        assert_eq!(
            dead.len(),
            usize::from(attempt == 5),
            "dead-lettered on the 5th failure only"
        );
        if attempt == 5 {
            assert_eq!(
                (dead[0].attempts, dead[0].reason.as_deref()),
                (5, Some("cannot parse"))
            );
        }
        now += 1;
    }
    tracing::info!("the second message dies by deadline expiry, reported by a lease of 0");
    let mut last = Vec::new();
    for _ in 1..=5 {
        assert_eq!(
            offsets_of(&lease(&storage, &p, now, 1, policy).await),
            vec![1]
        );
        now += DEADLINE;
        last = storage
            .lease(&s, &p, request(now, 0, policy))
            .await
            .expect("lease 0")
            .dead_lettered;
    }
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].reason.as_deref(), Some("ack deadline expired"));
    assert!(
        lease(&storage, &p, now, 10, policy).await.is_empty(),
        "dead letters are not delivered"
    );
    let backlog = storage.backlog(&s, &p, now).await.expect("backlog");
    assert_eq!((backlog.unacked, backlog.dead_lettered), (0, 2));
    assert_eq!(
        storage.dead_letters(&s, &p, 10).await.expect("list").len(),
        2
    );

    tracing::info!("redrive: to this subscription only, attempts start over, rate-spaced");
    let only_first = RedriveFilter {
        published_before_millis: Some(T0 + 1),
        ..RedriveFilter::default()
    };
    let redriven = storage
        .redrive(&s, &p, only_first, 10, now, 500)
        .await
        .expect("redrive");
    assert_eq!(redriven, 2, "both were published at T0");
    let got = lease(&storage, &p, now, 10, policy).await;
    assert_eq!(
        (offsets_of(&got), got[0].attempt),
        (vec![0], 1),
        "the second waits its 500 ms turn"
    );
    assert_eq!(
        offsets_of(&lease(&storage, &p, now + 500, 10, policy).await),
        vec![1]
    );
    let other = storage
        .lease(&sub("s-2"), &p, request(now, 10, plain()))
        .await
        .expect("lease")
        .leased;
    assert_eq!(
        offsets_of(&other),
        vec![0, 1],
        "the other subscription sees each message once"
    );
}

pub async fn check_dead_letter_parks_ordering_key(storage: impl Storage) {
    let p = arrange(&storage, "parked", &[Some("a"), Some("a"), Some("b")]).await;
    let s = sub("s-1");
    let policy = with_attempts(5, true);
    let first = lease(&storage, &p, T0, 10, policy).await;
    assert_eq!(offsets_of(&first), vec![0, 2]);
    let mut current = refs(&first[..1]);
    for attempt in 1..=5 {
        storage
            .nack(&s, &p, &current, &Nack::default(), T0, policy)
            .await
            .expect("nack");
        if attempt < 5 {
            let again = lease(&storage, &p, T0, 10, policy).await;
            assert_eq!(
                offsets_of(&again),
                vec![0],
                "key a retries its first message only"
            );
            current = refs(&again);
        }
    }
    assert!(
        lease(&storage, &p, T0, 10, policy).await.is_empty(),
        "key a is parked"
    );
    assert_eq!(
        storage.parked_keys(&s, &p).await.expect("parked"),
        vec!["a".to_owned()]
    );
    storage
        .ack(&s, &p, &refs(&first[1..]), T0, false)
        .await
        .expect("ack b");
    storage
        .append(&p, vec![message("b2", Some("b"), T0)])
        .await
        .expect("append");
    assert_eq!(
        offsets_of(&lease(&storage, &p, T0, 10, policy).await),
        vec![3],
        "other keys keep flowing"
    );
    assert!(storage.resume_key(&s, &p, "a").await.expect("resume"));
    assert!(
        !storage.resume_key(&s, &p, "a").await.expect("resume"),
        "no longer parked"
    );
    assert_eq!(
        offsets_of(&lease(&storage, &p, T0, 10, policy).await),
        vec![1],
        "a resumes in order"
    );
}

pub async fn check_priority_with_fairness(storage: impl Storage) {
    let priorities = [0u8, 9, 4, 9, 0, 9, 9, 9];
    let messages = priorities
        .iter()
        .enumerate()
        .map(|(i, priority)| {
            let mut m = message(&format!("m{i}"), None, T0);
            m.priority = *priority;
            m
        })
        .collect();
    let p = arrange_with(&storage, "priority", messages).await;
    let mut order = Vec::new();
    for _ in 0..priorities.len() {
        order.extend(offsets_of(&lease(&storage, &p, T0, 1, plain()).await));
    }
    assert_eq!(
        order,
        vec![1, 3, 5, 0, 6, 7, 2, 4],
        "highest priority first, oldest among equals; every 4th delivery takes the oldest"
    );
}

pub async fn check_delayed_delivery(storage: impl Storage) {
    let mut delayed = message("later", None, T0);
    delayed.deliver_at_millis = Millis::new(T0 + 5_000);
    let p = arrange_with(&storage, "delayed", vec![delayed, message("now", None, T0)]).await;
    let s = sub("s-1");
    let now = lease(&storage, &p, T0, 10, plain()).await;
    assert_eq!(offsets_of(&now), vec![1]);
    storage
        .ack(&s, &p, &refs(&now), T0, false)
        .await
        .expect("ack");
    let (at, attempt) = first_delivery(&storage, &p, T0 + 5_000, T0 + 5_000, plain()).await;
    assert_eq!(
        (at, attempt),
        (T0 + 5_000, 1),
        "never early, and it counts as a first delivery"
    );
}

pub async fn check_ttl_expiry(storage: impl Storage) {
    let mut short = message("short", None, T0);
    short.expire_at_millis = Millis::new(T0 + 1_000);
    let mut retried = message("retried", None, T0);
    retried.expire_at_millis = Millis::new(T0 + 5_000);
    let p = arrange_with(
        &storage,
        "ttl",
        vec![short, retried, message("forever", None, T0)],
    )
    .await;
    let s = sub("s-1");
    let got = lease(&storage, &p, T0 + 1_000, 10, plain()).await;
    assert_eq!(
        offsets_of(&got),
        vec![1, 2],
        "the expired message is skipped"
    );
    let delay = Nack {
        delay_millis: Some(10_000),
        reason: None,
    };
    storage
        .nack(&s, &p, &refs(&got[..1]), &delay, T0 + 1_000, plain())
        .await
        .expect("nack");
    storage
        .ack(&s, &p, &refs(&got[1..]), T0 + 1_000, false)
        .await
        .expect("ack forever");
    assert!(
        lease(&storage, &p, T0 + 11_000, 10, plain())
            .await
            .is_empty(),
        "it expired while waiting"
    );
    let backlog = storage.backlog(&s, &p, T0 + 11_000).await.expect("backlog");
    assert_eq!(
        (backlog.expired, backlog.unacked),
        (2, 0),
        "expired messages leave the backlog"
    );
}

pub async fn check_at_most_once(storage: impl Storage) {
    let p = arrange(&storage, "at-most-once", &[None]).await;
    let policy = mode(DeliveryMode::AtMostOnce);
    let got = lease(&storage, &p, T0, 10, policy).await;
    assert_eq!((offsets_of(&got), got[0].attempt), (vec![0], 1));
    assert!(
        lease(&storage, &p, T0 + 10 * DEADLINE, 10, policy)
            .await
            .is_empty(),
        "never redelivered"
    );
    let backlog = storage.backlog(&sub("s-1"), &p, T0).await.expect("backlog");
    assert_eq!((backlog.unacked, backlog.outstanding), (0, 0));
}

pub async fn check_exactly_once_rejects_stale_acks(storage: impl Storage) {
    let p = arrange(&storage, "exactly-once", &[None, None]).await;
    let s = sub("s-1");
    let policy = mode(DeliveryMode::ExactlyOnce);
    let first = lease(&storage, &p, T0, 1, policy).await;
    let second = lease(&storage, &p, T0 + DEADLINE, 1, policy).await;
    assert_eq!(
        (offsets_of(&second), second[0].attempt),
        (vec![0], 2),
        "redelivered after expiry"
    );
    let stale = storage
        .ack(&s, &p, &refs(&first), T0 + DEADLINE, true)
        .await
        .expect("ack");
    assert_eq!(
        (stale.newly_acked, stale.stale.len()),
        (0, 1),
        "the old attempt is refused"
    );
    let current = storage
        .ack(&s, &p, &refs(&second), T0 + DEADLINE, true)
        .await
        .expect("ack");
    assert_eq!((current.newly_acked, current.stale.len()), (1, 0));
    let again = storage
        .ack(&s, &p, &refs(&second), T0 + DEADLINE, true)
        .await
        .expect("ack");
    assert_eq!(
        again,
        Default::default(),
        "re-acking an acked message is a success"
    );
    let late = lease(&storage, &p, T0 + DEADLINE, 1, policy).await;
    let expired = storage
        .ack(&s, &p, &refs(&late), T0 + 2 * DEADLINE, true)
        .await
        .expect("ack");
    assert_eq!(
        expired.stale.len(),
        1,
        "an ack after the deadline is refused"
    );
}

pub async fn check_seek(storage: impl Storage) {
    let messages = (0..5)
        .map(|i| message(&format!("m{i}"), None, T0 + i * 1_000))
        .collect();
    let p = arrange_with(&storage, "seek", messages).await;
    let s = sub("s-1");
    let all = lease(&storage, &p, T0, 10, plain()).await;
    storage
        .ack(&s, &p, &refs(&all), T0, false)
        .await
        .expect("ack");
    storage
        .seek(&s, &p, SeekTarget::Time(T0 + 2_000))
        .await
        .expect("seek");
    assert_eq!(
        offsets_of(&lease(&storage, &p, T0, 10, plain()).await),
        vec![2, 3, 4]
    );
    storage
        .seek(&s, &p, SeekTarget::Earliest)
        .await
        .expect("seek");
    let backlog = storage.backlog(&s, &p, T0).await.expect("backlog");
    assert_eq!(
        (backlog.unacked, backlog.outstanding),
        (5, 0),
        "leases are dropped by a seek"
    );
    storage
        .seek(&s, &p, SeekTarget::Latest)
        .await
        .expect("seek");
    assert!(lease(&storage, &p, T0, 10, plain()).await.is_empty());
    assert_eq!(
        storage.backlog(&s, &p, T0).await.expect("backlog").unacked,
        0
    );
    let _ = ordered();
}
