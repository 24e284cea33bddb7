//! [`PublishLoad`]: a background publisher that remembers which messages the
//! cluster acknowledged, so a scenario can check that none is lost.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::client::Client;
use testkit::client::{publish, text};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Publishes one message at a time, round-robin through `clients`, until
/// stopped. A retryable failure (503, a lost connection, an unknown outcome)
/// is not counted as acknowledged; any other failure ends the load with an
/// error.
#[derive(Debug)]
pub struct PublishLoad {
    acked: Arc<Mutex<BTreeSet<String>>>,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<u64>>,
}

impl PublishLoad {
    pub fn start(clients: Vec<Client>, topic: &str) -> Self {
        let acked = Arc::new(Mutex::new(BTreeSet::new()));
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(clients, topic.to_owned(), acked.clone(), stop.clone()));
        Self { acked, stop, task }
    }

    /// How many messages were acknowledged so far.
    pub fn acked_count(&self) -> usize {
        self.acked.lock().expect("not poisoned").len()
    }

    /// Waits until at least `more` further messages are acknowledged, at most
    /// `within`: the load is making progress.
    pub async fn progress(&self, more: usize, within: Duration) -> anyhow::Result<()> {
        let target = self.acked_count() + more;
        testkit::wait_for("the publish load to make progress", within, || async {
            (self.acked_count() >= target).then_some(())
        })
        .await
    }

    /// Stops publishing; returns the acknowledged payloads and how many
    /// attempts were not acknowledged.
    pub async fn stop(self) -> anyhow::Result<(BTreeSet<String>, u64)> {
        self.stop.cancel();
        let unacked = self.task.await??;
        let acked = self.acked.lock().expect("not poisoned").clone();
        Ok((acked, unacked))
    }
}

async fn run(
    clients: Vec<Client>,
    topic: String,
    acked: Arc<Mutex<BTreeSet<String>>>,
    stop: CancellationToken,
) -> anyhow::Result<u64> {
    let mut unacked = 0;
    for i in 0u64.. {
        if stop.is_cancelled() {
            break;
        }
        let payload = format!("load-{i}");
        let client = &clients[i as usize % clients.len()];
        match publish(client, &topic, vec![text(&payload)]).await {
            Ok(_) => {
                acked.lock().expect("not poisoned").insert(payload);
            }
            Err(e) if e.is_retryable() => {
                unacked += 1;
                tracing::debug!(error = %e, "publish not acknowledged; going on");
                // Do not spin while a partition's owner is away.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => anyhow::bail!("publish {payload} failed for good: {e}"),
        }
    }
    Ok(unacked)
}
