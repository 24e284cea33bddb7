//! The client port speaks HTTP/1.1 and HTTP/2 (prior knowledge, `h2c`): a
//! client with `http2` has its publishes served over HTTP/2, and each access
//! line names the version its request came in.

use api::types::PublishRequest;
use api::{Client, ClientOptions};
use futures::future::try_join_all;
use testkit::client::text;
use testkit::server_process::{DataDir, Server, WAIT};

use crate::process::{LOCAL, start};

/// Publishes in flight at once from the HTTP/2 client.
const CONCURRENT: usize = 16;

/// The `protocol` of the next `count` access lines of `method` requests.
pub fn access_protocols(server: &Server, method: &str, count: usize) -> Vec<String> {
    let mut protocols = Vec::new();
    while protocols.len() < count {
        let line = server.wait_for_log("request");
        if line["target"] == "access" && line["method"] == method {
            protocols.push(line["protocol"].as_str().expect("protocol").to_owned());
        }
    }
    protocols
}

#[test_log::test(tokio::test)]
async fn an_http2_client_publishes_over_h2c_and_the_access_lines_name_each_version() {
    tracing::info!("arrange: a server, an HTTP/1.1 client and an HTTP/2 client");
    let data = DataDir::new("http-versions");
    let server = start(&data, &LOCAL, &[]);
    let base = format!("http://{}", server.client_addr());
    let http1 = Client::new(&base, WAIT).expect("client");
    let http2 = Client::with_options(
        &base,
        &ClientOptions {
            http2: true,
            ..ClientOptions::new(WAIT)
        },
    )
    .expect("client");

    tracing::info!(
        "act: a topic created over HTTP/1.1, {CONCURRENT} publishes at once over HTTP/2"
    );
    http1
        .create_topic("versions", &Default::default())
        .await
        .expect("create over HTTP/1.1");
    let publishes = (0..CONCURRENT).map(|i| {
        let request = PublishRequest {
            messages: vec![text(&format!("m{i}"))],
        };
        let http2 = http2.clone();
        async move {
            http2
                .publish("versions", &request, &Default::default())
                .await
        }
    });
    let answers = try_join_all(publishes)
        .await
        .expect("every publish over HTTP/2");

    tracing::info!("assert: every publish stored; the access lines say 1.1, then 2");
    assert_eq!(answers.len(), CONCURRENT);
    assert_eq!(access_protocols(&server, "PUT", 1), ["1.1"]);
    assert_eq!(
        access_protocols(&server, "POST", CONCURRENT),
        vec!["2"; CONCURRENT]
    );
    let stats = http1.get_topic("versions").await.expect("topic");
    assert_eq!(
        stats.stats.expect("stats").messages_published,
        CONCURRENT as u64
    );
}
