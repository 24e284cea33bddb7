//! What a group refuses, with the documented codes: bad session timeouts,
//! joins on subscriptions that are not partitioned or do not exist, unknown or
//! stale members and generations, and pulls with or without `memberId`.

use api::ErrorCode;
use serde_json::json;
use testkit::router::App;

use crate::members::{
    SUB, TOPIC, heartbeat, join, join_member, partitioned, publish_everywhere, pull_as,
};

#[test_log::test(tokio::test)]
async fn group_requests_are_validated_with_documented_codes() {
    let app = App::memory();
    partitioned(&app, 3).await;
    app.put_subscription("audit", json!({"topic": TOPIC}))
        .await
        .ok();

    tracing::info!("a partitioned subscription shows an empty group before any join");
    let described = app.get(&format!("/v1/subscriptions/{SUB}")).await;
    assert_eq!(described.ok()["type"], "partitioned");
    assert_eq!(
        described.ok()["group"],
        json!({"generation": 0, "members": []})
    );
    let shared = app.get("/v1/subscriptions/audit").await;
    assert!(shared.ok().get("group").is_none());

    tracing::info!("session timeout: 6 to 300 s, default 30 s, heartbeat every third");
    for bad in [5, 301] {
        let detail = join(&app, json!({"sessionTimeoutSeconds": bad}))
            .await
            .problem(400, "INVALID_ARGUMENT");
        assert!(detail.contains("sessionTimeoutSeconds"), "{detail}");
    }
    for (timeout, interval) in [(6, 2), (300, 100)] {
        let reply = join(&app, json!({"sessionTimeoutSeconds": timeout})).await;
        assert_eq!(reply.ok()["heartbeatIntervalSeconds"], interval);
    }
    let joined = join(&app, json!({})).await;
    assert_eq!(joined.ok()["heartbeatIntervalSeconds"], 10);
    let member_id = joined.ok()["memberId"].as_str().expect("id").to_owned();
    let generation = joined.ok()["generation"].as_u64().expect("generation");
    let described = app.get(&format!("/v1/subscriptions/{SUB}")).await;
    let shown = described.ok()["group"]["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["memberId"] == member_id.as_str())
        .cloned()
        .expect("the new member is listed");
    assert_eq!(shown["sessionTimeoutSeconds"], 30);
    assert!(
        shown["lastHeartbeatTime"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    join(&app, json!({"sessionTimeout": 30}))
        .await
        .problem(400, "INVALID_ARGUMENT");

    tracing::info!("groups exist only on partitioned subscriptions that exist");
    app.verb("audit", "join", json!({}))
        .await
        .problem(409, "FAILED_PRECONDITION");
    app.verb("nowhere", "join", json!({}))
        .await
        .problem(404, "SUBSCRIPTION_NOT_FOUND");

    tracing::info!("heartbeats: unknown, malformed and future members or generations");
    heartbeat(&app, "m-never-joined", 0)
        .await
        .problem(404, "UNKNOWN_MEMBER");
    heartbeat(&app, "not a member id", 0)
        .await
        .problem(400, "INVALID_ARGUMENT");
    heartbeat(&app, &member_id, generation + 100)
        .await
        .problem(409, "FAILED_PRECONDITION");

    tracing::info!(
        "pulls: a partitioned subscription needs memberId, a shared one refuses it (the state, not the request's shape)"
    );
    let detail = pull_as(&app, SUB, None)
        .await
        .problem(409, "FAILED_PRECONDITION");
    assert!(detail.contains("memberId"), "{detail}");
    pull_as(&app, "audit", Some(&member_id))
        .await
        .problem(409, "FAILED_PRECONDITION");
    pull_as(&app, SUB, Some("m-never-joined"))
        .await
        .problem(404, "UNKNOWN_MEMBER");
    pull_as(&app, SUB, Some(&member_id)).await.ok();
}

#[test_log::test(tokio::test)]
async fn a_lease_of_nothing_needs_no_member() {
    let app = App::memory();
    let broker = app.broker().clone();
    partitioned(&app, 2).await;
    join_member(&app, 30).await;
    publish_everywhere(&app, 2, 0).await;
    let target = broker.delivery.target(SUB).await.expect("target");
    let leased = broker
        .delivery
        .lease_batch(&target, 0)
        .await
        .expect("upkeep works on partitioned subscriptions");
    assert!(leased.is_empty());
    let refused = broker.delivery.lease_batch(&target, 1).await;
    assert!(refused.is_err(), "delivering needs a member");
}

#[test_log::test]
fn unknown_member_is_a_documented_non_retryable_404() {
    assert_eq!(ErrorCode::UnknownMember.status(), 404);
    assert!(!ErrorCode::UnknownMember.retryable());
    let api_docs = include_str!("../../../docs/api.md");
    assert!(
        api_docs.contains("`UNKNOWN_MEMBER` 404"),
        "docs/api.md lists the error code"
    );
}
