//! Leasing, acks, deadlines, nacks, ordering keys and backlog.

use cluster::Retention;
use cluster::subscription::StartPosition;

use super::{
    DEADLINE, T0, arrange, lease, message, offsets_of, ordered, plain, refs, request, sub,
};
use crate::storage::{DeliveryRef, Nack, Storage, StorageError};

pub async fn check_each_message_is_leased_once(storage: impl Storage) {
    let p = arrange(&storage, "lease-once", &[None, None, None]).await;
    let first = lease(&storage, &p, T0, 2, plain()).await;
    assert_eq!(offsets_of(&first), vec![0, 1]);
    assert!(first.iter().all(|l| l.attempt == 1));
    let second = lease(&storage, &p, T0, 10, plain()).await;
    assert_eq!(offsets_of(&second), vec![2]);
    assert!(
        lease(&storage, &p, T0 + 1, 10, plain()).await.is_empty(),
        "everything is leased"
    );
}

pub async fn check_expired_lease_is_redelivered(storage: impl Storage) {
    let p = arrange(&storage, "lease-expiry", &[None]).await;
    let s = sub("s-1");
    lease(&storage, &p, T0, 10, plain()).await;
    assert_eq!(
        storage.next_wakeup(&s, &p, T0).await.expect("wakeup"),
        Some(T0 + DEADLINE)
    );
    let early = lease(&storage, &p, T0 + DEADLINE - 1, 10, plain()).await;
    assert!(early.is_empty(), "not before the deadline");
    let again = lease(&storage, &p, T0 + DEADLINE, 10, plain()).await;
    assert_eq!(offsets_of(&again), vec![0]);
    assert_eq!(again[0].attempt, 2);
}

pub async fn check_ack_is_final(storage: impl Storage) {
    let p = arrange(&storage, "ack-final", &[None, None]).await;
    let s = sub("s-1");
    let leased = lease(&storage, &p, T0, 10, plain()).await;
    let ack = |d: Vec<DeliveryRef>, now| {
        let (storage, s, p) = (&storage, &s, &p);
        async move {
            storage
                .ack(s, p, &d, now, false)
                .await
                .expect("ack")
                .newly_acked
        }
    };
    assert_eq!(ack(refs(&leased[..1]), T0).await, 1);
    assert_eq!(
        ack(refs(&leased[..1]), T0).await,
        0,
        "acking twice is a no-op"
    );
    let later = lease(&storage, &p, T0 + 3 * DEADLINE, 10, plain()).await;
    assert_eq!(
        offsets_of(&later),
        vec![1],
        "only the unacked message returns"
    );
    assert_eq!(
        ack(refs(&leased[1..]), T0 + 3 * DEADLINE).await,
        1,
        "an ack for an expired lease still acks (at-least-once)"
    );
    let backlog = storage
        .backlog(&s, &p, T0 + 3 * DEADLINE)
        .await
        .expect("backlog");
    assert_eq!((backlog.unacked, backlog.outstanding), (0, 0));
    assert!(
        lease(&storage, &p, T0 + 9 * DEADLINE, 10, plain())
            .await
            .is_empty()
    );
}

pub async fn check_extend_and_nack(storage: impl Storage) {
    let p = arrange(&storage, "extend", &[None, None]).await;
    let s = sub("s-1");
    let leased = lease(&storage, &p, T0, 10, plain()).await;
    storage
        .extend(&s, &p, &refs(&leased[..1]), T0 + 5 * DEADLINE, T0)
        .await
        .expect("extend");
    let dead = storage
        .nack(&s, &p, &refs(&leased[1..]), &Nack::default(), T0, plain())
        .await
        .expect("nack");
    assert!(dead.is_empty());
    let now = lease(&storage, &p, T0, 10, plain()).await;
    assert_eq!(
        offsets_of(&now),
        vec![1],
        "a nacked message without retry policy is deliverable at once"
    );
    assert_eq!(now[0].attempt, 2);
    let stale = DeliveryRef {
        offset: 1,
        attempt: 1,
    };
    storage
        .nack(&s, &p, &[stale], &Nack::default(), T0, plain())
        .await
        .expect("stale nack");
    assert!(
        lease(&storage, &p, T0 + 1, 10, plain()).await.is_empty(),
        "a stale attempt cannot end the current lease"
    );
    let extended = lease(&storage, &p, T0 + 2 * DEADLINE, 10, plain()).await;
    assert_eq!(
        offsets_of(&extended),
        vec![1],
        "message 0 is still held by its extension"
    );
}

pub async fn check_ordered_leasing(storage: impl Storage) {
    let keys = [Some("a"), Some("a"), Some("b"), None, Some("a"), Some("b")];
    let p = arrange(&storage, "ordered", &keys).await;
    let s = sub("s-1");
    let first = lease(&storage, &p, T0, 100, ordered()).await;
    assert_eq!(
        offsets_of(&first),
        vec![0, 2, 3],
        "one message per key, unkeyed flow"
    );
    storage
        .nack(&s, &p, &refs(&first[..1]), &Nack::default(), T0, ordered())
        .await
        .expect("nack key a");
    let retry = lease(&storage, &p, T0, 100, ordered()).await;
    assert_eq!(
        offsets_of(&retry),
        vec![0],
        "key a redelivers its first message before later ones"
    );
    storage
        .ack(&s, &p, &refs(&retry), T0, false)
        .await
        .expect("ack");
    storage
        .ack(&s, &p, &refs(&first[1..2]), T0, false)
        .await
        .expect("ack b");
    let next = lease(&storage, &p, T0, 100, ordered()).await;
    assert_eq!(offsets_of(&next), vec![1, 5]);
    storage
        .ack(&s, &p, &refs(&next), T0, false)
        .await
        .expect("ack");
    assert_eq!(
        offsets_of(&lease(&storage, &p, T0, 100, ordered()).await),
        vec![4]
    );
}

pub async fn check_backlog_and_start_positions(storage: impl Storage) {
    let p = arrange(&storage, "backlog", &[None, None, None]).await;
    storage
        .create_subscription(&sub("late"), &p.topic, 1, StartPosition::Latest)
        .await
        .expect("create");
    let s = sub("s-1");
    lease(&storage, &p, T0, 2, plain()).await;
    let backlog = storage.backlog(&s, &p, T0 + 1).await.expect("backlog");
    assert_eq!((backlog.unacked, backlog.outstanding), (3, 2));
    assert_eq!(backlog.oldest_unacked_publish_millis, Some(T0));
    let late = storage
        .backlog(&sub("late"), &p, T0)
        .await
        .expect("backlog");
    assert_eq!(
        (late.unacked, late.outstanding),
        (0, 0),
        "latest skips existing messages"
    );
    assert_eq!(late.oldest_unacked_publish_millis, None);
    storage
        .append(&p, vec![message("new", None, T0 + 500)])
        .await
        .expect("append");
    let late = storage
        .backlog(&sub("late"), &p, T0 + 600)
        .await
        .expect("backlog");
    assert_eq!(late.oldest_unacked_publish_millis, Some(T0 + 500));
    let got = storage
        .lease(&sub("late"), &p, request(T0, 10, plain()))
        .await
        .expect("lease")
        .leased;
    assert_eq!(offsets_of(&got), vec![3]);
}

pub async fn check_deleted_subscription_is_gone(storage: impl Storage) {
    let p = arrange(&storage, "deleted-sub", &[None]).await;
    assert_eq!(
        offsets_of(&lease(&storage, &p, T0, 1, plain()).await),
        vec![0]
    );
    storage
        .delete_subscription(&sub("s-1"), &p.topic, 1)
        .await
        .expect("delete");
    let result = storage
        .lease(&sub("s-1"), &p, request(T0, 1, plain()))
        .await;
    assert!(
        matches!(result, Err(StorageError::NotFound { .. })),
        "got {result:?}"
    );
    storage
        .create_subscription(&sub("s-1"), &p.topic, 1, StartPosition::Earliest)
        .await
        .expect("create again");
    let fresh = lease(&storage, &p, T0, 1, plain()).await;
    assert_eq!(
        (offsets_of(&fresh), fresh[0].attempt),
        (vec![0], 1),
        "a re-created subscription starts from scratch"
    );
    storage
        .delete_topic(&p.topic, 1)
        .await
        .expect("delete topic");
    assert!(matches!(
        storage.offsets(&p).await,
        Err(StorageError::NotFound { .. })
    ));
    storage
        .create_topic(&p.topic, 1)
        .await
        .expect("create topic again");
    assert_eq!(
        storage.offsets(&p).await.expect("offsets").end,
        0,
        "a re-created topic is empty"
    );
    let result = storage
        .lease(&sub("s-1"), &p, request(T0, 1, plain()))
        .await;
    assert!(
        matches!(result, Err(StorageError::NotFound { .. })),
        "the topic's subscriptions went with it: {result:?}"
    );
}

pub async fn check_retention_removes_unacked_messages(storage: impl Storage) {
    let p = arrange(&storage, "retention-sub", &[None, None, None]).await;
    let s = sub("s-1");
    lease(&storage, &p, T0, 1, plain()).await;
    let keep_one = Retention {
        max_age_millis: None,
        max_bytes_per_partition: Some(4),
        ..Retention::default()
    };
    storage.trim(&p, &keep_one, T0).await.expect("trim");
    let backlog = storage.backlog(&s, &p, T0).await.expect("backlog");
    assert_eq!(
        (backlog.unacked, backlog.outstanding),
        (1, 0),
        "retention wins over subscriptions"
    );
    assert_eq!(
        offsets_of(&lease(&storage, &p, T0, 10, plain()).await),
        vec![2]
    );
}
