//! The alert rules and the dashboard against a live scrape: a server on Redis
//! runs a short workload, then every `pubsubgo_*` and `process_*` metric named
//! in `deployments/prometheus/rules/*.yml` and in the dashboard's PromQL must
//! be in its `/metrics`, and `promtool check metrics` must accept the scrape.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use regex::Regex;
use serde_json::{Value, json};
use testkit::redis::{RedisServer, fresh_prefix};
use testkit::server_process::{DataDir, Server, WAIT};

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository holds the node crate")
}

/// The metric names (ours and the process's) in PromQL `text`: identifiers
/// starting `pubsubgo_` or `process_`. Recording rules (`pubsubgo:…`),
/// labels and other exporters' metrics are not ours to check.
pub fn metric_names(text: &str) -> BTreeSet<String> {
    let name = Regex::new(r"\b(?:pubsubgo|process)_[a-zA-Z0-9_]+").expect("regex");
    name.find_iter(text)
        .map(|m| m.as_str().to_owned())
        .collect()
}

/// Every PromQL expression of the rules files and of the dashboard.
fn expressions() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let rules_dir = repository().join("deployments/prometheus/rules");
    for entry in std::fs::read_dir(&rules_dir).expect("rules folder") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("rules file");
        let rules: Value = serde_saphyr::from_str(&text).expect("rules YAML");
        for group in rules["groups"].as_array().expect("groups") {
            for rule in group["rules"].as_array().expect("rules") {
                let what = rule["alert"].as_str().or(rule["record"].as_str());
                out.push((
                    format!("{} {}", path.display(), what.unwrap_or("?")),
                    rule["expr"].as_str().expect("expr").to_owned(),
                ));
            }
        }
    }
    let dashboards = repository().join("deployments/grafana/dashboards");
    for entry in std::fs::read_dir(&dashboards).expect("dashboards folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("dashboard"))
                .expect("dashboard JSON");
        let mut queries = Vec::new();
        collect_queries(&dashboard, &mut queries);
        assert!(!queries.is_empty(), "{} has PromQL", path.display());
        out.extend(queries.into_iter().map(|q| (path.display().to_string(), q)));
    }
    out
}

/// `expr` of every panel target and the `query` of every template variable.
fn collect_queries(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("expr" | "definition", Value::String(q)) => out.push(q.clone()),
                    _ => collect_queries(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_queries(v, out)),
        _ => {}
    }
}

/// Sample names in a Prometheus text scrape (`name_bucket`, `name_total`, …).
fn scraped_names(scrape: &str) -> BTreeSet<String> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// The names of `expressions` missing from `scraped`, with where they are used.
pub fn missing(expressions: &[(String, String)], scraped: &BTreeSet<String>) -> Vec<String> {
    expressions
        .iter()
        .flat_map(|(place, expr)| {
            metric_names(expr)
                .into_iter()
                .filter(|name| !scraped.contains(name))
                .map(move |name| format!("{name} (in {place})"))
        })
        .collect()
}

async fn workload(base: &str) {
    let http = testkit::client::http();
    let send = |method: reqwest::Method, path: &str, body: Value| {
        let request = http.request(method, format!("{base}{path}")).json(&body);
        async move {
            let response = request.send().await.expect("answer");
            response.json::<Value>().await.unwrap_or(Value::Null)
        }
    };
    send(reqwest::Method::PUT, "/v1/topics/scraped", json!({})).await;
    send(
        reqwest::Method::PUT,
        "/v1/subscriptions/scraped-sub",
        json!({"topic": "scraped", "startPosition": "earliest"}),
    )
    .await;
    for _ in 0..5 {
        send(
            reqwest::Method::POST,
            "/v1/topics/scraped:publish",
            json!({"messages": [{"data": "aGk="}]}),
        )
        .await;
    }
    let pulled = send(
        reqwest::Method::POST,
        "/v1/subscriptions/scraped-sub:pull",
        json!({"maxMessages": 5, "waitSeconds": 5}),
    )
    .await;
    let ack_ids: Vec<Value> = pulled["receivedMessages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["ackId"].clone())
        .collect();
    send(
        reqwest::Method::POST,
        "/v1/subscriptions/scraped-sub:acknowledge",
        json!({ "ackIds": ack_ids }),
    )
    .await;
    // One error, so the error counters have a series.
    send(reqwest::Method::GET, "/v1/topics/no-such-topic", json!({})).await;
    // One message over a WebSocket stream: frames both ways.
    let client = api::Client::new(base, WAIT).expect("client");
    let mut stream = client.stream("scraped-sub").await.expect("stream");
    stream.credit(1).await.expect("credit");
    send(
        reqwest::Method::POST,
        "/v1/topics/scraped:publish",
        json!({"messages": [{"data": "aGk="}]}),
    )
    .await;
    let frame = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("a delivery in time")
        .expect("the stream is open")
        .expect("a frame");
    let api::frames::ServerFrame::Message { ack_id, .. } = frame else {
        panic!("expected a message, got {frame:?}");
    };
    stream.ack(vec![ack_id]).await.expect("ack");
    stream.close().await.expect("close");
}

/// The value of the sample `series` (name and labels as scraped) in `scrape`.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|l| {
        let value = l.strip_prefix(series)?.strip_prefix(' ')?;
        value.split(' ').next()?.parse().ok()
    })
}

#[test_log::test]
fn every_metric_the_rules_and_the_dashboard_name_is_in_a_live_scrape() {
    tracing::info!("arrange: a server on Redis with metrics on a free port");
    let redis = RedisServer::standalone(&[]);
    let data = DataDir::new("scrape");
    let mut command = Server::command();
    command
        .env_clear()
        .env("PUBSUB_SERVER_HOST", "127.0.0.1")
        .env("PUBSUB_SERVER_PORT", "0")
        .env("PUBSUB_PEER_PORT", "0")
        .env("PUBSUB_METRICS_PORT", "0")
        .env("PUBSUB_REDIS_URL", redis.url())
        .env("PUBSUB_REDIS_KEY_PREFIX", fresh_prefix())
        .env("PUBSUB_LOG_FORMAT", "json")
        .env("PUBSUB_DATA_DIR", &data.0);
    let server = Server::spawn(command);
    let listening = server.wait_for_log("pubsubgo-server listening");
    let client = listening["client"].as_str().expect("client").to_owned();
    let metrics = listening["metrics"]
        .as_str()
        .expect("metrics address")
        .trim_start_matches("Some(")
        .trim_end_matches(')')
        .to_owned();

    tracing::info!("act: publish, pull, ack, one error; then scrape");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let scrape = runtime.block_on(async {
        let api = api::Client::new(&format!("http://{client}"), WAIT).expect("client");
        tokio::time::timeout(WAIT, async {
            while api.ready().await.is_err() {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        })
        .await
        .expect("ready");
        workload(&format!("http://{client}")).await;
        // The lag gauges appear at their first refresh (every 5 s).
        let expressions = expressions();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let scrape = reqwest::get(format!("http://{metrics}/metrics"))
                .await
                .expect("scrape")
                .text()
                .await
                .expect("text");
            let complete = missing(&expressions, &scraped_names(&scrape)).is_empty();
            if complete || tokio::time::Instant::now() >= deadline {
                return scrape;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });

    tracing::info!("assert: every named metric is scraped, and promtool accepts the scrape");
    let expressions = expressions();
    let scraped = scraped_names(&scrape);
    let missing = missing(&expressions, &scraped);
    assert!(
        missing.is_empty(),
        "metrics named but not exported: {missing:#?}"
    );
    // The stream session of the workload: one session, its credit and ack
    // frames in, its delivery out (counted before the scrape was taken: the
    // client had the delivery and sent the ack first).
    for (series, at_least) in [
        (
            r#"pubsubgo_websocket_sessions_total{endpoint="stream"}"#,
            1.0,
        ),
        (
            r#"pubsubgo_websocket_frames_total{endpoint="stream",direction="received"}"#,
            1.0,
        ),
        (
            r#"pubsubgo_websocket_frames_total{endpoint="stream",direction="sent"}"#,
            1.0,
        ),
    ] {
        let value = sample(&scrape, series);
        assert!(
            value.is_some_and(|v| v >= at_least),
            "{series} is {value:?}, expected at least {at_least}"
        );
    }
    let promtool = promtool_check_metrics(&scrape);
    assert!(promtool.is_empty(), "promtool check metrics: {promtool}");
}

/// The OpenMetrics scrape in the Prometheus text format promtool reads: a
/// counter family's `HELP` and `TYPE` name its samples (`…_total`), and the
/// OpenMetrics-only lines (`# EOF`, `# UNIT`) go.
fn as_prometheus_text(scrape: &str) -> String {
    let counters: BTreeSet<&str> = scrape
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    scrape
        .lines()
        .filter(|l| *l != "# EOF" && !l.starts_with("# UNIT "))
        .map(|l| {
            for prefix in ["# HELP ", "# TYPE "] {
                if let Some(rest) = l.strip_prefix(prefix) {
                    let name = rest.split(' ').next().unwrap_or_default();
                    if counters.contains(name) {
                        return format!("{prefix}{name}_total{}", &rest[name.len()..]);
                    }
                }
            }
            l.to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Problems `promtool check metrics` finds in `scrape`, less the ones the
/// seed's names cause on purpose (a gauge named `…_total`).
fn promtool_check_metrics(scrape: &str) -> String {
    let scrape = as_prometheus_text(scrape);
    let tools = repository().join("tests/tools/deployment-tools");
    let mut child = Command::new(tools)
        .args(["promtool", "check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (tests/tools/deployment-tools installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(scrape.as_bytes())
        .expect("scrape to promtool");
    let output = child.wait_with_output().expect("promtool ends");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    text.lines()
        .filter(|l| !l.starts_with("pubsubgo_active_connections_total non-counter"))
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_misspelled_metric_in_a_rule_is_reported_missing() {
    let scraped = BTreeSet::from(["pubsubgo_http_requests_total".to_owned(), "up".to_owned()]);
    let rules = vec![(
        "rules.yml PubSubGoHighErrorRate".to_owned(),
        "sum(rate(pubsubgo_http_request_total[5m])) > 0 and up == 0".to_owned(),
    )];
    assert_eq!(
        missing(&rules, &scraped),
        vec!["pubsubgo_http_request_total (in rules.yml PubSubGoHighErrorRate)".to_owned()]
    );
}
