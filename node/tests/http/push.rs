//! Push subscriptions against a real server and a real HTTP endpoint: retries
//! through nacks until the endpoint accepts, signatures on every request,
//! `maxOutstanding`, deletion and re-creation, shutdown, and the validation
//! and secrecy of `pushConfig`.

mod endpoint;

use std::collections::BTreeSet;
use std::time::Duration;

use api::Client;
use api::types::{
    CreateSubscriptionRequest, PublishMessage, PullRequest, PushConfig, SubscriptionStats,
};
use endpoint::{Behaviour, Endpoint, WAIT};
use node::TestNode;
use serde_json::{Value, json};
use testkit::client::{connect, metrics, subscription, subscription_stats, text, topic};
use testkit::router::{App, b64};

/// How often broker state is re-checked while waiting for it.
const POLL: Duration = Duration::from_millis(5);

/// A node with a 2-partition topic `events`, and a client of it.
async fn start() -> (TestNode, Client) {
    let node = TestNode::start().await.expect("server");
    let client = connect(&node.url);
    client
        .create_topic("events", &topic(2))
        .await
        .expect("topic");
    (node, client)
}

/// An endpoint that holds every request until released, and a push
/// subscription `hooks` to it. Its 600 s ack deadline makes the request
/// timeout 60 s, far beyond the 5 s shutdown grace.
async fn gated_hooks(client: &Client, max_outstanding: Option<u32>) -> Endpoint {
    let hook = Endpoint::start(Behaviour {
        gated: true,
        ..Default::default()
    })
    .await;
    let push = PushConfig {
        endpoint: hook.url.clone(),
        max_outstanding,
        ..Default::default()
    };
    create_push(client, "hooks", 600, push).await;
    hook
}

async fn create_push(client: &Client, name: &str, ack_deadline_seconds: u32, push: PushConfig) {
    let request = CreateSubscriptionRequest {
        ack_deadline_seconds: Some(ack_deadline_seconds),
        push_config: Some(push),
        ..subscription("events")
    };
    client
        .create_subscription(name, &request)
        .await
        .expect("create push subscription");
}

async fn publish(client: &Client, messages: Vec<PublishMessage>) -> Vec<String> {
    testkit::client::publish(client, "events", messages)
        .await
        .expect("publish")
        .message_ids
}

/// Waits until the subscription's stats satisfy `condition`.
async fn wait_for_stats(
    client: &Client,
    name: &str,
    what: &str,
    mut condition: impl FnMut(&SubscriptionStats) -> bool,
) -> SubscriptionStats {
    let waited = tokio::time::timeout(WAIT, async {
        loop {
            let stats = subscription_stats(client, name).await;
            if condition(&stats) {
                return stats;
            }
            tokio::time::sleep(POLL).await;
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("{name}: {what} did not happen"))
}

/// The value of one sample line of the metrics text, e.g. `name{label="x"}`.
async fn metric(node: &TestNode, sample: &str) -> f64 {
    metrics(&node.metrics_url)
        .await
        .lines()
        .find_map(|line| line.strip_prefix(sample)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test_log::test(tokio::test)]
async fn failed_pushes_are_retried_until_the_endpoint_accepts_and_every_request_is_signed() {
    let (node, client) = start().await;
    let hook = Endpoint::start(Behaviour {
        secret: Some("s3cr3t"),
        fail_first: 2,
        ..Default::default()
    })
    .await;

    tracing::info!("arrange: a signed push subscription and a pull subscription to compare with");
    create_push(
        &client,
        "hooks",
        10,
        PushConfig {
            endpoint: hook.url.clone(),
            secret: Some("s3cr3t".into()),
            ..Default::default()
        },
    )
    .await;
    client
        .create_subscription("audit", &subscription("events"))
        .await
        .expect("pull subscription");

    tracing::info!("act: publish one message; the endpoint fails twice, then accepts");
    let message = PublishMessage {
        attributes: [("kind".to_owned(), "signup".to_owned())].into(),
        ordering_key: Some("user-7".into()),
        ..text("hello")
    };
    let published = tokio::time::Instant::now();
    let ids = publish(&client, vec![message]).await;
    let log = hook
        .wait_for("a 2xx answer or a bad signature", |log| {
            log.succeeded() == 1 || log.bad_signatures > 0
        })
        .await;

    tracing::info!("assert: three signed attempts of the same message, the third accepted");
    assert_eq!(
        log.bad_signatures,
        0,
        "every signature verifies: {}",
        log.summary()
    );
    assert_eq!(log.requests.len(), 3, "{}", log.summary());
    let statuses: Vec<_> = log.requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(200)]);
    // Each failure is nacked, which makes the message deliverable at once; a
    // dispatcher that left retries to lease expiry would need 2 x 10 s.
    assert!(
        published.elapsed() < Duration::from_secs(10),
        "retries came from nacks, not from the 10 s ack deadline: {:?}",
        published.elapsed()
    );
    let attempts: Vec<_> = log
        .requests
        .iter()
        .map(|r| r.body["deliveryAttempt"].as_u64())
        .collect();
    assert_eq!(attempts, [Some(1), Some(2), Some(3)]);
    for seen in &log.requests {
        assert!(
            seen.signature
                .as_deref()
                .is_some_and(|s| s.starts_with("sha256=")),
            "{seen:?}"
        );
        let keys: BTreeSet<&str> = seen
            .body
            .as_object()
            .expect("object body")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["deliveryAttempt", "message", "subscription"])
        );
        assert_eq!(seen.body["subscription"], "hooks");
        assert_eq!(seen.body["message"]["messageId"], ids[0].as_str());
    }

    tracing::info!("assert: the pushed message is the object a pull returns");
    let pulled = client
        .pull(
            "audit",
            &PullRequest {
                max_messages: Some(1),
                wait_seconds: Some(5),
                ..Default::default()
            },
        )
        .await
        .expect("pull")
        .received_messages;
    let pulled = serde_json::to_value(&pulled[0].message).expect("json");
    assert_eq!(log.requests[2].body["message"], pulled);
    assert_eq!(pulled["data"], b64("hello"));

    tracing::info!("assert: the ack emptied the backlog; nothing more is pushed");
    wait_for_stats(&client, "hooks", "backlog 0", |s| {
        s.backlog_messages == 0 && s.outstanding_messages == 0
    })
    .await;
    assert_eq!(hook.log().requests.len(), 3);
    let outcome = |o: &str| format!("pubsubgo_push_requests_total{{outcome=\"{o}\"}}");
    assert_eq!(metric(&node, &outcome("failure")).await, 2.0);
    assert_eq!(metric(&node, &outcome("success")).await, 1.0);
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn at_most_max_outstanding_requests_are_in_flight() {
    let (node, client) = start().await;
    let hook = gated_hooks(&client, Some(3)).await;

    tracing::info!("act: 10 messages against an endpoint that holds every request");
    publish(&client, (0..10).map(|i| text(&format!("m{i}"))).collect()).await;
    hook.wait_for("3 requests held", |log| log.in_flight >= 3)
        .await;

    tracing::info!("assert: only 3 messages are leased, so no 4th request can come");
    let stats = wait_for_stats(&client, "hooks", "3 outstanding", |s| {
        s.outstanding_messages >= 3
    })
    .await;
    assert_eq!(stats.outstanding_messages, 3, "{stats:?}");
    assert_eq!(hook.log().requests.len(), 3);

    tracing::info!("act: one answer frees one slot, which the next message takes");
    hook.release(1);
    let log = hook
        .wait_for("a 4th request after one answer", |log| {
            log.answered() == 1 && log.requests.len() == 4 && log.in_flight == 3
        })
        .await;
    assert_eq!(log.max_in_flight, 3);

    tracing::info!("act: let everything through; all 10 arrive, never more than 3 at once");
    hook.release(1000);
    wait_for_stats(&client, "hooks", "backlog 0", |s| s.backlog_messages == 0).await;
    let log = hook.log();
    assert_eq!(log.max_in_flight, 3, "{}", log.summary());
    let distinct: BTreeSet<String> = log.data().into_iter().collect();
    assert_eq!(distinct.len(), 10);
    assert_eq!(
        log.requests.len(),
        10,
        "each message pushed once: {}",
        log.summary()
    );
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn a_deleted_push_subscription_stops_and_its_successor_uses_the_new_endpoint() {
    let (node, client) = start().await;
    let old = Endpoint::start(Behaviour::default()).await;
    let new = Endpoint::start(Behaviour::default()).await;
    let push_to = |endpoint: &Endpoint| PushConfig {
        endpoint: endpoint.url.clone(),
        ..Default::default()
    };

    tracing::info!("arrange: hooks pushes to the old endpoint");
    create_push(&client, "hooks", 10, push_to(&old)).await;
    publish(&client, vec![text("before")]).await;
    old.wait_for("the first message", |log| log.succeeded() == 1)
        .await;
    wait_for_stats(&client, "hooks", "backlog 0", |s| s.backlog_messages == 0).await;

    tracing::info!("act: delete hooks, create it again on another endpoint, publish 8");
    client.delete_subscription("hooks").await.expect("delete");
    let gone = client.get_subscription("hooks").await.expect_err("deleted");
    assert_eq!(
        gone.problem().map(|p| p.code),
        Some(api::ErrorCode::SubscriptionNotFound)
    );
    create_push(&client, "hooks", 10, push_to(&new)).await;
    publish(
        &client,
        (0..8).map(|i| text(&format!("after{i}"))).collect(),
    )
    .await;

    tracing::info!("assert: the new endpoint gets all 8; the old one nothing more");
    new.wait_for("8 messages", |log| log.succeeded() == 8).await;
    wait_for_stats(&client, "hooks", "backlog 0", |s| s.backlog_messages == 0).await;
    assert_eq!(old.log().data(), [b64("before")]);
    let hooks = client.get_subscription("hooks").await.expect("get");
    assert_eq!(hooks.push_config.map(|p| p.endpoint), Some(new.url.clone()));
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn shutdown_abandons_requests_in_flight_and_hands_their_messages_back() {
    let (node, client) = start().await;
    let hook = gated_hooks(&client, None).await;
    publish(&client, vec![text("a"), text("b")]).await;
    hook.wait_for("2 requests held", |log| log.in_flight >= 2)
        .await;

    tracing::info!("act: shut down while both requests are held");
    let broker = node.broker.clone();
    tokio::time::timeout(WAIT, node.stop())
        .await
        .expect("server stopped");

    tracing::info!("assert: both leases were released (nacked), not left to their deadline");
    let stats = broker
        .catalog
        .get_subscription("hooks")
        .await
        .expect("subscription")
        .stats
        .expect("stats");
    assert_eq!((stats.backlog_messages, stats.outstanding_messages), (2, 0));
}

#[test_log::test(tokio::test)]
async fn push_subscriptions_cannot_be_pulled_or_streamed() {
    let (node, client) = start().await;
    create_push(
        &client,
        "hooks",
        10,
        PushConfig {
            // Nothing listens on the discard port: deliveries fail, which is fine here.
            endpoint: "http://127.0.0.1:9/push".into(),
            ..Default::default()
        },
    )
    .await;

    let err = client
        .pull("hooks", &PullRequest::default())
        .await
        .expect_err("pull refused");
    let problem = err.problem().expect("problem body");
    assert_eq!(problem.code, api::ErrorCode::FailedPrecondition);
    assert!(
        problem
            .detail
            .contains("push subscriptions deliver by HTTP POST"),
        "{problem}"
    );
    let err = client.stream("hooks").await.expect_err("stream refused");
    assert!(err.to_string().contains("409"), "{err}");
    node.stop().await;
}

#[test_log::test(tokio::test)]
async fn push_config_is_validated_and_the_secret_never_returned() {
    let app = App::memory();
    app.put_topic("events", json!({})).await.ok();
    let create = |name: &str, push: Value| {
        let app = app.clone();
        let name = name.to_owned();
        async move {
            app.put_subscription(&name, json!({"topic": "events", "pushConfig": push}))
                .await
        }
    };

    tracing::info!("a secret is accepted, reported as secretSet, and never echoed");
    let secret = "do-not-echo-me";
    let push =
        json!({"endpoint": "https://hooks.example/in", "maxOutstanding": 5, "secret": secret});
    let created = create("signed", push).await;
    let expected =
        json!({"endpoint": "https://hooks.example/in", "maxOutstanding": 5, "secretSet": true});
    assert_eq!(created.ok()["pushConfig"], expected);
    let fetched = app.get("/v1/subscriptions/signed").await;
    assert_eq!(fetched.ok()["pushConfig"], expected);
    let unsigned = create("unsigned", json!({"endpoint": "http://127.0.0.1:9/"})).await;
    assert_eq!(
        unsigned.ok()["pushConfig"],
        json!({"endpoint": "http://127.0.0.1:9/", "maxOutstanding": 100, "secretSet": false})
    );
    let listed = app.get("/v1/subscriptions").await;
    for body in [&created.body, &fetched.body, &listed.body] {
        assert!(!body.to_string().contains(secret), "{body}");
    }

    tracing::info!("bad settings are 400 problems and create nothing");
    let bad = [
        (
            json!({"endpoint": "ftp://hooks.example/in"}),
            "pushConfig.endpoint",
        ),
        (json!({"endpoint": "not a url"}), "pushConfig.endpoint"),
        (json!({"endpoint": "http://"}), "pushConfig.endpoint"),
        (
            json!({"endpoint": "http://u:p@hooks.example/"}),
            "pushConfig.endpoint",
        ),
        (
            json!({"endpoint": "http://h/", "maxOutstanding": 0}),
            "pushConfig.maxOutstanding",
        ),
        (
            json!({"endpoint": "http://h/", "maxOutstanding": 1001}),
            "pushConfig.maxOutstanding",
        ),
        (
            json!({"endpoint": "http://h/", "secret": "x".repeat(257)}),
            "pushConfig.secret",
        ),
        (
            json!({"endpoint": "http://h/", "secrets": "typo"}),
            "secrets",
        ),
        (json!({}), "endpoint"),
    ];
    for (push, field) in bad {
        let reply = create("rejected", push.clone()).await;
        let detail = reply.problem(400, "INVALID_ARGUMENT");
        assert!(detail.contains(field), "{push}: {detail}");
    }
    app.get("/v1/subscriptions/rejected")
        .await
        .problem(404, "SUBSCRIPTION_NOT_FOUND");
}
