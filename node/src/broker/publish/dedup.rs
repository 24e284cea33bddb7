//! Publish deduplication by `Idempotency-Key`.
//!
//! A key is remembered per topic for the topic's dedup window, together with a
//! fingerprint of the request body and the answer. A retry with the same key and
//! body gets the stored answer and stores nothing; the same key with another body
//! is refused; a retry while the first request is still running is told to retry
//! later. Entries live in this process (memory storage loses them on restart,
//! like the messages themselves).

use std::collections::HashMap;
use std::sync::Mutex;

use api::types::PublishResponse;
use cluster::TopicName;

#[derive(Debug, Clone)]
enum Entry {
    InProgress {
        fingerprint: u64,
    },
    Done {
        fingerprint: u64,
        response: PublishResponse,
        expires_at_millis: u64,
    },
}

/// What a publish with an idempotency key should do.
#[derive(Debug)]
pub enum Claim {
    /// First time: publish, then call [`IdempotencyCache::complete`] or [`IdempotencyCache::abandon`].
    New,
    /// Seen before with the same body: answer this.
    Replay(PublishResponse),
    InProgress,
    BodyMismatch,
}

#[derive(Debug, Default)]
pub struct IdempotencyCache {
    entries: Mutex<HashMap<(TopicName, String), Entry>>,
}

impl IdempotencyCache {
    pub fn claim(&self, topic: &TopicName, key: &str, fingerprint: u64, now_millis: u64) -> Claim {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let slot = (topic.clone(), key.to_owned());
        match entries.get(&slot) {
            Some(Entry::Done {
                expires_at_millis, ..
            }) if *expires_at_millis <= now_millis => {}
            Some(Entry::Done {
                fingerprint: seen,
                response,
                ..
            }) => {
                return if *seen == fingerprint {
                    let mut replay = response.clone();
                    replay.deduplicated = true;
                    Claim::Replay(replay)
                } else {
                    Claim::BodyMismatch
                };
            }
            Some(Entry::InProgress { fingerprint: seen }) => {
                return if *seen == fingerprint {
                    Claim::InProgress
                } else {
                    Claim::BodyMismatch
                };
            }
            None => {}
        }
        entries.insert(slot, Entry::InProgress { fingerprint });
        Claim::New
    }

    pub fn complete(
        &self,
        topic: &TopicName,
        key: &str,
        fingerprint: u64,
        response: PublishResponse,
        expires_at_millis: u64,
    ) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(
            (topic.clone(), key.to_owned()),
            Entry::Done {
                fingerprint,
                response,
                expires_at_millis,
            },
        );
    }

    /// The publish failed: a retry with the key may try again.
    pub fn abandon(&self, topic: &TopicName, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&(topic.clone(), key.to_owned()));
    }

    /// Drops expired entries and every entry of a deleted topic.
    pub fn sweep(&self, now_millis: u64, live_topic: impl Fn(&TopicName) -> bool) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|(topic, _), entry| {
            live_topic(topic)
                && !matches!(entry, Entry::Done { expires_at_millis, .. } if *expires_at_millis <= now_millis)
        });
    }
}
