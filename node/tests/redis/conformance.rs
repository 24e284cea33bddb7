//! The storage conformance suite on real Redis: a standalone server and a
//! 3-primary/3-replica Redis Cluster, shared by the tests of this binary, each
//! test under a fresh key prefix. Plus: a publish batch costs one round trip,
//! and a released partition's subscription state is reloaded from Redis.

mod standalone {
    node::storage::conformance::suite!(async testkit::redis::standalone_storage());
}

mod cluster {
    node::storage::conformance::suite!(async testkit::redis::cluster_storage());
}

mod release {

    use cluster::subscription::StartPosition;
    use cluster::{SubscriptionName, TopicName};
    use node::storage::redis::RedisStorage;
    use node::storage::{
        DeliveryPolicy, DeliveryRef, LeaseRequest, MessageLog, PartitionRef, SubscriptionState,
    };

    use testkit::redis::{shared_standalone, standalone_settings};
    use testkit::storage::message;

    const T0: u64 = 1_700_000_000_000;

    fn lease_one(now_millis: u64) -> LeaseRequest {
        LeaseRequest {
            max_messages: 1,
            now_millis,
            deadline_millis: now_millis + 10_000,
            policy: DeliveryPolicy::default(),
        }
    }

    /// Leases one message on `storage` and acks it; returns its offset.
    async fn lease_and_ack(
        storage: &RedisStorage,
        sub: &SubscriptionName,
        at: &PartitionRef,
    ) -> u64 {
        let leased = storage.lease(sub, at, lease_one(T0)).await.expect("lease");
        let offset = leased.leased[0].message.offset;
        let delivery = DeliveryRef {
            offset,
            attempt: leased.leased[0].attempt,
        };
        storage
            .ack(sub, at, &[delivery], T0, false)
            .await
            .expect("ack");
        offset
    }

    #[test_log::test(tokio::test)]
    async fn a_released_partition_sees_what_another_owner_wrote_meanwhile() {
        let settings = standalone_settings(shared_standalone().url());
        let first = RedisStorage::connect(&settings).await.expect("connect");
        let second = RedisStorage::connect(&settings).await.expect("connect");
        let at = PartitionRef {
            topic: TopicName::new("orders").expect("valid name"),
            partition: 0,
        };
        let sub = SubscriptionName::new("billing").expect("valid name");
        first
            .create_topic(&at.topic, 1)
            .await
            .expect("create topic");
        let batch = (0..3).map(|i| message(format!("m{i}"), T0)).collect();
        first.append(&at, batch).await.expect("append");
        first
            .create_subscription(&sub, &at.topic, 1, StartPosition::Earliest)
            .await
            .expect("create subscription");
        tracing::info!("arrange: the first owner acks m0 and keeps its cursor in memory");
        assert_eq!(lease_and_ack(&first, &sub, &at).await, 0);
        tracing::info!("arrange: ownership moves; the second owner acks m1");
        first.release_partition(&at).await;
        assert_eq!(lease_and_ack(&second, &sub, &at).await, 1);

        tracing::info!("act: ownership comes back; the first owner had released");
        let backlog = first.backlog(&sub, &at, T0).await.expect("backlog");
        let leased = first.lease(&sub, &at, lease_one(T0)).await.expect("lease");

        assert_eq!(backlog.unacked, 1, "only m2 is left");
        let offsets: Vec<u64> = leased.leased.iter().map(|l| l.message.offset).collect();
        assert_eq!(offsets, vec![2], "m1 is not leased again");
    }
}

mod round_trips {

    use std::time::Duration;

    use api::types::{CreateTopicRequest, PublishRequest};

    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;

    use testkit::client::text;
    use testkit::redis::{RedisServer, broker_on, standalone_settings};

    fn batch(size: usize) -> PublishRequest {
        PublishRequest {
            messages: (0..size).map(|i| text(&format!("message {i}"))).collect(),
        }
    }

    /// Every command Redis runs, as `MONITOR` reports it: `(source, command)`,
    /// where the source is a client address or `lua`.
    struct Monitor {
        lines: tokio::io::Lines<BufReader<TcpStream>>,
        marker: TcpStream,
    }

    impl Monitor {
        async fn start(port: u16) -> Self {
            let mut stream = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            stream.write_all(b"MONITOR\r\n").await.expect("monitor");
            let mut lines = BufReader::new(stream).lines();
            let ok = lines.next_line().await.expect("read").expect("reply");
            assert_eq!(ok, "+OK");
            let marker = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            Self { lines, marker }
        }

        /// Sends `ECHO <text>` on a separate connection and returns every
        /// command seen until the monitor reports it.
        async fn until_marker(&mut self, text: &str) -> Vec<(String, String)> {
            self.marker
                .write_all(format!("ECHO {text}\r\n").as_bytes())
                .await
                .expect("echo");
            let mut seen = Vec::new();
            while let Some(line) = self.lines.next_line().await.expect("read") {
                if line.contains(&format!("\"ECHO\" \"{text}\"")) {
                    return seen;
                }
                // +<time> [<db> <source>] "<command>" …
                let source = line
                    .split_once('[')
                    .and_then(|(_, rest)| rest.split_once(']'))
                    .map(|(inside, _)| inside.split_whitespace().nth(1).unwrap_or("").to_owned())
                    .unwrap_or_default();
                let command = line
                    .split('"')
                    .nth(1)
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                seen.push((source, command));
            }
            panic!("monitor ended before the marker");
        }
    }

    #[test_log::test(tokio::test)]
    async fn a_publish_batch_of_500_on_one_partition_is_one_round_trip() {
        let redis = RedisServer::standalone(&["--appendonly", "no"]);
        let broker = broker_on(&standalone_settings(redis.url())).await;
        broker
            .catalog
            .create_topic("orders", CreateTopicRequest::default())
            .await
            .expect("create topic");
        tracing::info!("warm up: the first publish loads the append script");
        broker
            .publisher
            .publish("orders", batch(1), None)
            .await
            .expect("publish");
        let mut monitor = Monitor::start(redis.port).await;
        monitor.until_marker("before").await;

        let started = std::time::Instant::now();
        let reply = broker
            .publisher
            .publish("orders", batch(500), None)
            .await
            .expect("publish 500");
        let took = started.elapsed();
        let seen = monitor.until_marker("after").await;

        assert_eq!(reply.offsets, (1..=500).collect::<Vec<u64>>());
        assert_eq!(reply.ack_level.to_string(), "leader");
        // A `GET` from the client is the entry-format watch's poll (every
        // 5 s, `<prefix>:format`), which may land in the window: not the publish's.
        let from_client: Vec<&(String, String)> = seen
            .iter()
            .filter(|(source, command)| source != "lua" && command != "get")
            .collect();
        let xadds = seen
            .iter()
            .filter(|(source, command)| source == "lua" && command == "xadd")
            .count();
        assert_eq!(
            from_client
                .iter()
                .map(|(_, c)| c.as_str())
                .collect::<Vec<_>>(),
            vec!["evalsha"],
            "one command from the broker"
        );
        assert_eq!(xadds, 500, "the script stored the whole batch");
        eprintln!("a 500-message publish took {took:?} (one EVALSHA, 500 XADDs inside)");
        assert!(took < Duration::from_secs(10));
    }
}
