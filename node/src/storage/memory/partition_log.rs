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
    /// Every message from this offset on has the last message's priority.
    one_priority_from: u64,
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
                if self.messages.back().map(|m| m.message.priority) != Some(message.priority) {
                    self.one_priority_from = offset;
                }
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

    /// Payload bytes of the retained messages.
    pub(crate) fn bytes_retained(&self) -> u64 {
        self.bytes_retained
    }

    /// The size bound of `retention` that appending `batch` would pass, for
    /// a human (`1000 messages`); `None` when it fits.
    pub(crate) fn bound_passed_by(
        &self,
        batch: &[NewMessage],
        retention: &Retention,
    ) -> Option<String> {
        let messages = self.messages.len() as u64 + batch.len() as u64;
        let bytes = self.bytes_retained + batch.iter().map(|m| m.size() as u64).sum::<u64>();
        if let Some(max) = retention.max_messages_per_partition
            && messages > max
        {
            return Some(format!("{max} messages"));
        }
        match retention.max_bytes_per_partition {
            Some(max) if bytes > max => Some(format!("{max} bytes")),
            _ => None,
        }
    }

    /// Drops messages older than the age bound and beyond the size bounds;
    /// returns (messages, payload bytes) dropped.
    pub(crate) fn trim(&mut self, retention: &Retention, now_millis: u64) -> (u64, u64) {
        let oldest_kept = retention
            .max_age_millis
            .map(|age| now_millis.saturating_sub(age));
        self.drop_front_while(|log, front| {
            oldest_kept.is_some_and(|t| front.message.publish_time_millis < t)
                || retention.exceeded_by(log.messages.len() as u64, log.bytes_retained)
        })
    }

    /// Drops messages below `offset`; returns (messages, payload bytes) dropped.
    pub(crate) fn release_below(&mut self, offset: u64) -> (u64, u64) {
        self.drop_front_while(|_, front| front.offset < offset)
    }

    fn drop_front_while(
        &mut self,
        mut drop: impl FnMut(&Self, &StoredMessage) -> bool,
    ) -> (u64, u64) {
        let (mut messages, mut bytes) = (0, 0);
        while let Some(front) = self.messages.front() {
            if !drop(self, front) {
                break;
            }
            let size = front.message.size() as u64;
            self.bytes_retained -= size;
            self.messages.pop_front();
            self.start += 1;
            messages += 1;
            bytes += size;
        }
        (messages, bytes)
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

    fn priorities_may_differ_from(&self, offset: u64) -> bool {
        self.one_priority_from > offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_knows_from_where_its_messages_share_one_priority() {
        let mut log = PartitionLog::default();
        log.append(vec![NewMessage::of_priority(4), NewMessage::of_priority(4)]);
        assert!(!log.priorities_may_differ_from(0));
        log.append([9, 9, 4].map(NewMessage::of_priority).to_vec());
        assert!(log.priorities_may_differ_from(0));
        assert!(log.priorities_may_differ_from(3));
        assert!(!log.priorities_may_differ_from(4));
    }
}
