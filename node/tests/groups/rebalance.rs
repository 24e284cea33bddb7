//! Rebalancing: a member that goes silent loses its partitions to the others
//! in a new generation (sticky: the others keep theirs), and a member that
//! leaves is rejected while the rest take over its partitions.

use std::collections::BTreeSet;
use std::time::Duration;

use node::broker::groups::GROUP_EXPIRY_INTERVAL;
use serde_json::json;
use testkit::router::App;

use crate::members::{
    Ledger, SUB, TOPIC, ack, all_partitions, catch_up, consume, delivered, heartbeat, join_member,
    ledger_partitions, partitioned, partitions_of, publish_everywhere, pull_as, start_expiry,
};

#[test_log::test(tokio::test(start_paused = true))]
async fn a_silent_member_loses_its_partitions_to_the_others_in_a_new_generation() {
    const PARTITIONS: u32 = 12;
    const SESSION: Duration = Duration::from_secs(10);
    const STEP: Duration = Duration::from_millis(500);
    let app = App::memory();
    let broker = app.broker().clone();
    start_expiry(&broker);
    partitioned(&app, PARTITIONS).await;

    tracing::info!("arrange: three members join a 12-partition topic with a 10 s session");
    let mut a = join_member(&app, 10).await;
    let mut b = join_member(&app, 10).await;
    let mut c = join_member(&app, 10).await;
    for member in [&mut a, &mut b, &mut c] {
        catch_up(&app, member).await;
    }
    let first = a.generation;
    assert!([b.generation, c.generation].iter().all(|g| *g == first));
    all_partitions(&[&a, &b, &c], PARTITIONS);
    for member in [&a, &b, &c] {
        assert_eq!(member.partitions.len(), 4, "{member:?}");
    }
    let described = app.get(&format!("/v1/subscriptions/{SUB}")).await;
    let group = &described.ok()["group"];
    assert_eq!(group["generation"], first);
    assert_eq!(group["members"].as_array().map(Vec::len), Some(3));
    for shown in group["members"].as_array().expect("members") {
        let owner = [&a, &b, &c]
            .into_iter()
            .find(|m| shown["memberId"] == m.id.as_str())
            .expect("a known member");
        assert_eq!(partitions_of(shown), owner.partitions);
    }

    tracing::info!("act: each member consumes exactly its own partitions");
    let mut ledger = Ledger::default();
    publish_everywhere(&app, PARTITIONS, 0).await;
    for member in [&a, &b, &c] {
        let got = consume(&app, member, &mut ledger).await;
        assert_eq!(got.len(), 4, "one message per owned partition");
        assert!(got.iter().all(|m| m.generation == Some(first)));
    }

    tracing::info!("act: c goes silent but keeps pulling; a and b heartbeat and pull");
    let c_silent_since = tokio::time::Instant::now();
    // Steps fall halfway between expiry ticks, so an expiry never lands between
    // a member's heartbeat and the pull that relies on its answer.
    tokio::time::sleep(STEP / 2).await;
    let mut round = 1;
    let moved_after = loop {
        tokio::time::sleep(STEP).await;
        catch_up(&app, &mut a).await;
        catch_up(&app, &mut b).await;
        publish_everywhere(&app, PARTITIONS, round).await;
        round += 1;
        consume(&app, &a, &mut ledger).await;
        consume(&app, &b, &mut ledger).await;
        let c_pull = pull_as(&app, SUB, Some(&c.id)).await;
        if c_pull.status.is_success() {
            let got = delivered(&c_pull);
            ledger.record(&c.id, &got);
            assert!(got.iter().all(|m| c.partitions.contains(&m.partition)));
            ack(&app, SUB, &got).await;
        } else {
            c_pull.problem(404, "UNKNOWN_MEMBER");
        }
        if a.generation > first {
            break c_silent_since.elapsed();
        }
        assert!(
            c_silent_since.elapsed() <= SESSION + GROUP_EXPIRY_INTERVAL + STEP,
            "c is still assigned {:?} after its session ran out",
            c.partitions
        );
    };

    tracing::info!(?moved_after, "assert: c was removed on time, not early");
    assert!(moved_after >= SESSION, "removed after {moved_after:?}");
    assert!(moved_after <= SESSION + GROUP_EXPIRY_INTERVAL + STEP);
    assert_eq!(a.generation, b.generation);
    assert!(a.generation > first);
    all_partitions(&[&a, &b], PARTITIONS);
    assert_eq!((a.partitions.len(), b.partitions.len()), (6, 6));
    let a_before: BTreeSet<u32> = ledger_partitions(&ledger, first, &a.id);
    let b_before: BTreeSet<u32> = ledger_partitions(&ledger, first, &b.id);
    assert!(
        a.partitions.is_superset(&a_before),
        "sticky: a keeps its own"
    );
    assert!(
        b.partitions.is_superset(&b_before),
        "sticky: b keeps its own"
    );

    tracing::info!("assert: the old member is rejected, its partitions are served to a and b");
    pull_as(&app, SUB, Some(&c.id))
        .await
        .problem(404, "UNKNOWN_MEMBER");
    heartbeat(&app, &c.id, c.generation)
        .await
        .problem(404, "UNKNOWN_MEMBER");
    publish_everywhere(&app, PARTITIONS, round).await;
    let got_a = consume(&app, &a, &mut ledger).await;
    let got_b = consume(&app, &b, &mut ledger).await;
    let served: BTreeSet<u32> = got_a.iter().chain(&got_b).map(|m| m.partition).collect();
    assert_eq!(served, (0..PARTITIONS).collect());
    assert!(
        got_a
            .iter()
            .chain(&got_b)
            .all(|m| m.generation == Some(a.generation))
    );
    for p in &c.partitions {
        assert_eq!(ledger.0.get(&(first, *p)), Some(&c.id));
        let next = ledger.0.get(&(a.generation, *p));
        assert!(next == Some(&a.id) || next == Some(&b.id), "partition {p}");
    }
}

#[test_log::test(tokio::test)]
async fn a_member_gets_only_its_partitions_and_a_departed_member_is_rejected() {
    const PARTITIONS: u32 = 4;
    let app = App::memory();
    partitioned(&app, PARTITIONS).await;
    app.put_subscription("audit", json!({"topic": TOPIC}))
        .await
        .ok();

    tracing::info!("arrange: a joins alone, then b joins and takes half");
    let mut a = join_member(&app, 30).await;
    assert_eq!(a.partitions, (0..PARTITIONS).collect());
    let b = join_member(&app, 30).await;
    assert!(b.generation > a.generation);
    assert_eq!(b.partitions.len(), 2);

    tracing::info!("act: a heartbeats with its old generation and catches up");
    let stale = a.generation;
    catch_up(&app, &mut a).await;
    assert!(
        a.generation > stale,
        "the answer carries the new generation"
    );
    assert_eq!(a.generation, b.generation);
    all_partitions(&[&a, &b], PARTITIONS);

    tracing::info!("act: two messages per partition; each member pulls everything it can");
    publish_everywhere(&app, PARTITIONS, 0).await;
    publish_everywhere(&app, PARTITIONS, 1).await;
    let mut ledger = Ledger::default();
    let got_a = consume(&app, &a, &mut ledger).await;
    let got_b = consume(&app, &b, &mut ledger).await;
    assert_eq!((got_a.len(), got_b.len()), (4, 4));
    assert!(
        got_a
            .iter()
            .chain(&got_b)
            .all(|m| m.generation == Some(a.generation))
    );

    tracing::info!("assert: a shared subscription's deliveries carry no generation");
    let shared = delivered(&pull_as(&app, "audit", None).await);
    assert_eq!(shared.len(), 8);
    assert!(shared.iter().all(|m| m.generation.is_none()));

    tracing::info!("act: b leaves; its pulls, heartbeats and leaves are now rejected");
    app.verb(SUB, "leave", json!({"memberId": b.id})).await.ok();
    let rejected = pull_as(&app, SUB, Some(&b.id)).await;
    let detail = rejected.problem(404, "UNKNOWN_MEMBER");
    assert!(detail.contains("join again"), "{detail}");
    assert_eq!(rejected.body["retryable"], false);
    heartbeat(&app, &b.id, b.generation)
        .await
        .problem(404, "UNKNOWN_MEMBER");
    app.verb(SUB, "leave", json!({"memberId": b.id}))
        .await
        .problem(404, "UNKNOWN_MEMBER");

    tracing::info!("assert: a now owns every partition, in a newer generation");
    let before = a.generation;
    catch_up(&app, &mut a).await;
    assert!(a.generation > before);
    assert_eq!(a.partitions, (0..PARTITIONS).collect());
    publish_everywhere(&app, PARTITIONS, 2).await;
    let got = consume(&app, &a, &mut ledger).await;
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|m| m.generation == Some(a.generation)));
}
