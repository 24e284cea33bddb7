//! `publish TOPIC`: one message, or `--count` copies of it sent in batches.

use std::io::IsTerminal;

use anyhow::Context as _;
use api::PublishOptions;
use api::data::Data;
use api::limits::MAX_BATCH_BYTES;
use api::types::{AckLevel, PublishMessage, PublishRequest, PublishResponse};
use tokio::io::AsyncReadExt;

use super::Context;
use crate::args::{Format, PublishArgs};
use crate::output::{TextTable, print_json, print_text};

/// Most rows the table shows; the JSON output always has every id.
const MAX_TABLE_ROWS: usize = 50;

pub async fn run(ctx: &Context, args: PublishArgs) -> anyhow::Result<()> {
    let data = read_payload(&args).await?;
    let message = PublishMessage {
        data: Data::from(data),
        attributes: args.attributes.into_iter().collect(),
        ordering_key: args.ordering_key,
        priority: args.priority,
        deliver_after: args.deliver_after,
        ttl: args.ttl,
    };
    if message.data.is_empty() && message.attributes.is_empty() {
        anyhow::bail!("nothing to publish: give --data, --file or stdin, or at least one --attr");
    }
    let batch_size = batch_size_for(&message, args.batch_size);
    let sizes = batch_sizes(args.count, batch_size);
    let mut published = Published::default();
    for (index, size) in sizes.iter().enumerate() {
        let options = PublishOptions {
            idempotency_key: batch_key(args.idempotency_key.as_deref(), index, sizes.len()),
            compression: args.compression.map(Into::into),
        };
        let request = PublishRequest {
            messages: vec![message.clone(); *size],
        };
        let answer = ctx.client.publish(&args.topic, &request, &options).await;
        let response = if sizes.len() == 1 {
            answer?
        } else {
            answer.with_context(|| {
                format!(
                    "publishing batch {} of {} (the earlier ones were stored)",
                    index + 1,
                    sizes.len()
                )
            })?
        };
        published.add(response);
    }
    let response = published
        .into_response()
        .context("no batch was published")?;
    match ctx.format {
        Format::Json => print_json(&response),
        Format::Table => {
            print_text(&publish_text(&args.topic, &response));
            if let Some(timing) = timing_text(&message) {
                print_text(&timing);
            }
            Ok(())
        }
    }
}

async fn read_payload(args: &PublishArgs) -> anyhow::Result<Vec<u8>> {
    if let Some(text) = &args.data {
        return Ok(text.as_bytes().to_vec());
    }
    if let Some(path) = &args.file {
        return tokio::fs::read(path)
            .await
            .with_context(|| format!("reading {}", path.display()));
    }
    if std::io::stdin().is_terminal() {
        eprintln!("reading the message from stdin; end it with Ctrl-D (or pass --data or --file)");
    }
    let mut data = Vec::new();
    tokio::io::stdin()
        .read_to_end(&mut data)
        .await
        .context("reading the message from stdin")?;
    Ok(data)
}

/// The requested batch size, lowered so a batch stays within the request byte limit.
fn batch_size_for(message: &PublishMessage, requested: u64) -> u64 {
    let message_bytes = api::limits::counted_bytes(&message.data.0, &message.attributes).max(1);
    let fits = (MAX_BATCH_BYTES / message_bytes).max(1) as u64;
    requested.min(fits)
}

/// Sizes of the batches that send `count` messages, `batch_size` at most each.
fn batch_sizes(count: u64, batch_size: u64) -> Vec<usize> {
    let batch_size = batch_size.max(1);
    let full = count / batch_size;
    let rest = count % batch_size;
    let mut sizes = vec![batch_size as usize; full as usize];
    if rest > 0 {
        sizes.push(rest as usize);
    }
    sizes
}

/// With several batches each needs its own key: the server rejects one key reused
/// for a different body. `KEY-i` keeps a re-run of the same command idempotent.
fn batch_key(key: Option<&str>, index: usize, batches: usize) -> Option<String> {
    key.map(|key| {
        if batches == 1 {
            key.to_owned()
        } else {
            format!("{key}-{index}")
        }
    })
}

/// The answers of every batch, merged into one answer of the server's shape.
#[derive(Debug, Default)]
struct Published {
    message_ids: Vec<String>,
    partitions: Vec<u32>,
    offsets: Vec<u64>,
    ack_level: Option<AckLevel>,
    deduplicated: bool,
}

impl Published {
    fn add(&mut self, response: PublishResponse) {
        self.message_ids.extend(response.message_ids);
        self.partitions.extend(response.partitions);
        self.offsets.extend(response.offsets);
        self.ack_level = Some(response.ack_level);
        self.deduplicated |= response.deduplicated;
    }

    fn into_response(self) -> Option<PublishResponse> {
        Some(PublishResponse {
            message_ids: self.message_ids,
            partitions: self.partitions,
            offsets: self.offsets,
            ack_level: self.ack_level?,
            deduplicated: self.deduplicated,
        })
    }
}

fn publish_text(topic: &str, response: &PublishResponse) -> String {
    let mut table = TextTable::new(&["message id", "partition", "offset"]);
    let rows = response
        .message_ids
        .iter()
        .zip(&response.partitions)
        .zip(&response.offsets);
    for ((id, partition), offset) in rows.take(MAX_TABLE_ROWS) {
        table.row(vec![
            TextTable::text(id),
            TextTable::number(partition),
            TextTable::number(offset),
        ]);
    }
    let mut text = table.render();
    let count = response.message_ids.len();
    if count > MAX_TABLE_ROWS {
        text.push_str(&format!(
            "\n… and {} more (use --format json for all)",
            count - MAX_TABLE_ROWS
        ));
    }
    let noun = if count == 1 { "message" } else { "messages" };
    text.push_str(&format!(
        "\npublished {count} {noun} to {topic} (ack level: {})",
        response.ack_level
    ));
    if response.deduplicated {
        text.push_str(
            "\na request with the same idempotency key was seen before: nothing new was stored",
        );
    }
    text
}

/// When a delayed or expiring message will and will not be delivered.
fn timing_text(message: &PublishMessage) -> Option<String> {
    let delay = message
        .deliver_after
        .map(|delay| format!("first delivery in {delay}"));
    let ttl = message
        .ttl
        .map(|ttl| format!("never delivered after {ttl} from publishing"));
    match (delay, ttl) {
        (Some(delay), Some(ttl)) => Some(format!("{delay}; {ttl}")),
        (one, None) | (None, one) => one,
    }
}

#[cfg(test)]
mod tests {
    use api::duration::Duration;

    use super::*;

    fn response(ids: &[&str]) -> PublishResponse {
        PublishResponse {
            message_ids: ids.iter().map(|id| (*id).to_owned()).collect(),
            partitions: vec![0; ids.len()],
            offsets: (0..ids.len() as u64).collect(),
            ack_level: AckLevel::Memory,
            deduplicated: false,
        }
    }

    #[test]
    fn count_is_split_into_batches_of_at_most_the_batch_size() {
        assert_eq!(batch_sizes(1, 1000), vec![1]);
        assert_eq!(batch_sizes(2500, 1000), vec![1000, 1000, 500]);
        assert_eq!(batch_sizes(2000, 1000), vec![1000, 1000]);
        assert_eq!(batch_sizes(3, 2), vec![2, 1]);
    }

    #[test]
    fn large_messages_get_smaller_batches() {
        let big = PublishMessage {
            data: Data::from(vec![0; MAX_BATCH_BYTES / 4]),
            ..PublishMessage::default()
        };
        assert_eq!(batch_size_for(&big, 1000), 4);
        let huge = PublishMessage {
            data: Data::from(vec![0; MAX_BATCH_BYTES * 2]),
            ..PublishMessage::default()
        };
        assert_eq!(batch_size_for(&huge, 1000), 1);
        assert_eq!(batch_size_for(&PublishMessage::default(), 10), 10);
    }

    #[test]
    fn idempotency_keys_are_numbered_only_when_there_are_several_batches() {
        assert_eq!(batch_key(Some("k"), 0, 1).as_deref(), Some("k"));
        assert_eq!(batch_key(Some("k"), 2, 3).as_deref(), Some("k-2"));
        assert_eq!(batch_key(None, 0, 3), None);
    }

    #[test]
    fn batches_merge_into_one_answer() {
        let mut published = Published::default();
        assert!(Published::default().into_response().is_none());
        published.add(response(&["0-0", "0-1"]));
        published.add(response(&["0-2"]));
        let merged = published.into_response().expect("two batches");
        assert_eq!(merged.message_ids, ["0-0", "0-1", "0-2"]);
        assert_eq!(merged.offsets, [0, 1, 0]);
        let json = serde_json::to_value(&merged).expect("serializes");
        assert_eq!(json["ackLevel"], "memory");
        assert_eq!(json["messageIds"][2], "0-2");
    }

    #[test]
    fn delay_and_ttl_are_told_when_set() {
        let mut message = PublishMessage::default();
        assert_eq!(timing_text(&message), None);
        message.deliver_after = Some(Duration::from_secs(30));
        assert_eq!(
            timing_text(&message).as_deref(),
            Some("first delivery in 30s")
        );
        message.ttl = Some(Duration::from_secs(3600));
        assert_eq!(
            timing_text(&message).as_deref(),
            Some("first delivery in 30s; never delivered after 3600s from publishing")
        );
    }

    #[test]
    fn table_lists_ids_and_says_how_many() {
        let text = publish_text("orders", &response(&["0-0", "0-1"]));
        assert_eq!(
            text,
            "MESSAGE ID  PARTITION  OFFSET\n0-0                 0       0\n0-1                 0       1\n\
             published 2 messages to orders (ack level: memory)"
        );
        let many: Vec<String> = (0..60).map(|i| format!("0-{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let text = publish_text("orders", &response(&many));
        assert!(text.contains("… and 10 more"), "{text}");
    }
}
