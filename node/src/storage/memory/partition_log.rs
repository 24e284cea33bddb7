//! One partition's messages in memory.

use std::collections::VecDeque;
use std::sync::Arc;

use cluster::Retention;

use crate::storage::cursor::LogView;
use crate::storage::{NewMessage, PartitionOffsets, SeekTarget, StoredMessage};

/// An append-only run of messages with dense offsets, trimmed from the front.
#[derive(Debug, Default)]
pub(crate) struct PartitionLog {
    /// Offset of `messages[0]`.
    start: u64,
    messages: VecDeque<Arc<StoredMessage>>,
    bytes_appended: u64,
    bytes_retained: u64,
}

impl PartitionLog {
    pub(crate) fn append(&mut self, batch: Vec<NewMessage>) -> Vec<u64> {
        batch
            .into_iter()
            .map(|message| {
                let offset = self.end();
                let size = message.size() as u64;
                self.bytes_appended += size;
                self.bytes_retained += size;
                self.messages
                    .push_back(Arc::new(StoredMessage { offset, message }));
                offset
            })
            .collect()
    }

    pub(crate) fn start(&self) -> u64 {
        self.start
    }

    pub(crate) fn end(&self) -> u64 {
        self.start + self.messages.len() as u64
    }

    pub(crate) fn get(&self, offset: u64) -> Option<&Arc<StoredMessage>> {
        let index = usize::try_from(offset.checked_sub(self.start)?).ok()?;
        self.messages.get(index)
    }

    /// Where a seek to `target` lands. For a time: the first offset published
    /// at or after it (the end if none); publish times never decrease within a
    /// partition.
    pub(crate) fn seek_offset(&self, target: SeekTarget) -> u64 {
        match target {
            SeekTarget::Earliest => self.start,
            SeekTarget::Latest => self.end(),
            SeekTarget::Time(millis) => {
                self.start
                    + self
                        .messages
                        .partition_point(|m| m.message.publish_time_millis < millis)
                        as u64
            }
        }
    }

    pub(crate) fn read(&self, from: u64, max: usize) -> Vec<Arc<StoredMessage>> {
        let from = from.max(self.start);
        (from..self.end())
            .take(max)
            .filter_map(|offset| self.get(offset).cloned())
            .collect()
    }

    pub(crate) fn offsets(&self) -> PartitionOffsets {
        PartitionOffsets {
            start: self.start,
            end: self.end(),
            bytes_appended: self.bytes_appended,
        }
    }

    /// Drops messages older than the age bound and beyond the size bound.
    pub(crate) fn trim(&mut self, retention: &Retention, now_millis: u64) -> u64 {
        let oldest_kept = retention
            .max_age_millis
            .map(|age| now_millis.saturating_sub(age));
        let mut dropped = 0;
        while let Some(front) = self.messages.front() {
            let too_old = oldest_kept.is_some_and(|t| front.message.publish_time_millis < t);
            let too_big = retention
                .max_bytes_per_partition
                .is_some_and(|max| self.bytes_retained > max);
            if !(too_old || too_big) {
                break;
            }
            self.bytes_retained -= front.message.size() as u64;
            self.messages.pop_front();
            self.start += 1;
            dropped += 1;
        }
        dropped
    }
}

impl LogView for PartitionLog {
    fn start(&self) -> u64 {
        self.start
    }

    fn end(&self) -> u64 {
        PartitionLog::end(self)
    }

    fn get(&self, offset: u64) -> Option<&Arc<StoredMessage>> {
        PartitionLog::get(self, offset)
    }
}
