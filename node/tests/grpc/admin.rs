//! Topics and subscriptions through Google's API: every admin RPC, the
//! project part of names, the codes of the errors, refused fields.

use googleapis_tonic_google_pubsub_v1::google::pubsub::v1::{
    DeadLetterPolicy, DeleteSubscriptionRequest, DeleteTopicRequest, GetSubscriptionRequest,
    GetTopicRequest, ListSubscriptionsRequest, ListTopicSubscriptionsRequest, ListTopicsRequest,
    RetryPolicy, Subscription, Topic,
};
use tonic::Code;

use crate::google_server::{GoogleServer, PROJECT, subscription_path, topic_path};

#[test_log::test(tokio::test)]
async fn every_admin_rpc_round_trips_and_names_echo_the_callers_project() {
    let mut server = GoogleServer::start().await;
    tracing::info!(
        "arrange: a topic, a dead-letter topic and a subscription with every mapped field"
    );
    server.create_topic("dead").await;
    let retry = RetryPolicy {
        minimum_backoff: Some(prost_types::Duration {
            seconds: 1,
            nanos: 0,
        }),
        maximum_backoff: Some(prost_types::Duration {
            seconds: 2,
            nanos: 500_000_000,
        }),
    };
    let sub = server
        .topic_and_subscription(
            "orders",
            Subscription {
                ack_deadline_seconds: 30,
                enable_message_ordering: true,
                enable_exactly_once_delivery: true,
                retry_policy: Some(retry),
                dead_letter_policy: Some(DeadLetterPolicy {
                    dead_letter_topic: topic_path("dead"),
                    max_delivery_attempts: 7,
                }),
                ..Subscription::default()
            },
        )
        .await;

    tracing::info!("act and assert: get and list echo what was set");
    let got = server
        .subscriber
        .get_subscription(GetSubscriptionRequest {
            subscription: sub.clone(),
        })
        .await
        .expect("get subscription")
        .into_inner();
    assert_eq!(got.topic, topic_path("orders"));
    assert_eq!(got.ack_deadline_seconds, 30);
    assert!(got.enable_message_ordering && got.enable_exactly_once_delivery);
    assert_eq!(got.retry_policy, Some(retry));
    let dead = got.dead_letter_policy.expect("dead-letter policy");
    assert_eq!(
        (dead.dead_letter_topic.as_str(), dead.max_delivery_attempts),
        (topic_path("dead").as_str(), 7)
    );

    let elsewhere = server
        .publisher
        .get_topic(GetTopicRequest {
            topic: "projects/other/topics/orders".to_owned(),
        })
        .await
        .expect("one flat namespace: the same topic from another project")
        .into_inner();
    assert_eq!(elsewhere.name, "projects/other/topics/orders");
    let topics = server
        .publisher
        .list_topics(ListTopicsRequest {
            project: format!("projects/{PROJECT}"),
            ..ListTopicsRequest::default()
        })
        .await
        .expect("list topics")
        .into_inner();
    let names: Vec<_> = topics.topics.iter().map(|t| t.name.clone()).collect();
    assert_eq!(names, [topic_path("dead"), topic_path("orders")]);
    let subs = server
        .subscriber
        .list_subscriptions(ListSubscriptionsRequest {
            project: format!("projects/{PROJECT}"),
            ..ListSubscriptionsRequest::default()
        })
        .await
        .expect("list subscriptions")
        .into_inner();
    assert_eq!(subs.subscriptions.len(), 1);
    let of_topic = |topic: &str| ListTopicSubscriptionsRequest {
        topic: topic_path(topic),
        ..ListTopicSubscriptionsRequest::default()
    };
    let listed = server
        .publisher
        .list_topic_subscriptions(of_topic("orders"))
        .await
        .expect("topic's subscriptions")
        .into_inner();
    assert_eq!(listed.subscriptions, std::slice::from_ref(&sub));
    let none = server
        .publisher
        .list_topic_subscriptions(of_topic("dead"))
        .await
        .expect("dead-letter topic's subscriptions")
        .into_inner();
    assert!(none.subscriptions.is_empty());

    tracing::info!("act and assert: AlreadyExists, then deletes, then NotFound");
    let again = server
        .publisher
        .create_topic(Topic {
            name: topic_path("orders"),
            ..Topic::default()
        })
        .await
        .expect_err("a second create");
    assert_eq!(again.code(), Code::AlreadyExists, "{again:?}");
    server
        .subscriber
        .delete_subscription(DeleteSubscriptionRequest {
            subscription: sub.clone(),
        })
        .await
        .expect("delete subscription");
    server
        .publisher
        .delete_topic(DeleteTopicRequest {
            topic: topic_path("orders"),
        })
        .await
        .expect("delete topic");
    let gone = server
        .subscriber
        .get_subscription(GetSubscriptionRequest { subscription: sub })
        .await
        .expect_err("deleted subscription");
    assert_eq!(gone.code(), Code::NotFound);
    let gone = server
        .publisher
        .list_topic_subscriptions(of_topic("orders"))
        .await
        .expect_err("deleted topic");
    assert_eq!(gone.code(), Code::NotFound);
}

#[test_log::test(tokio::test)]
async fn fields_the_broker_cannot_honour_and_bad_names_are_invalid_arguments() {
    let mut server = GoogleServer::start().await;
    server.create_topic("orders").await;
    let refused = [
        Subscription {
            filter: "attributes.kind = \"a\"".to_owned(),
            ..Subscription::default()
        },
        Subscription {
            retain_acked_messages: true,
            ..Subscription::default()
        },
        Subscription {
            labels: [("team".to_owned(), "a".to_owned())].into(),
            ..Subscription::default()
        },
    ];
    for (i, fields) in refused.into_iter().enumerate() {
        let error = server
            .subscriber
            .create_subscription(Subscription {
                name: subscription_path(&format!("s{i}")),
                topic: topic_path("orders"),
                ..fields
            })
            .await
            .expect_err("refused field");
        assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
    }
    let labelled = server
        .publisher
        .create_topic(Topic {
            name: topic_path("labelled"),
            kms_key_name: "key".to_owned(),
            ..Topic::default()
        })
        .await
        .expect_err("kms key");
    assert_eq!(labelled.code(), Code::InvalidArgument);
    for name in [
        "orders",
        "projects/p/subscriptions/orders",
        "projects/p/topics/bad~id",
    ] {
        let error = server
            .publisher
            .get_topic(GetTopicRequest {
                topic: name.to_owned(),
            })
            .await
            .expect_err(name);
        assert_eq!(error.code(), Code::InvalidArgument, "{name}: {error:?}");
    }
}
