//! [`PartitionStore`]: the storage every node writes partitions to (Redis in
//! the broker), modelled by its one rule: an append carries the writer's
//! owner epoch and is refused if the partition has seen a newer one (the
//! contract of `node::storage::FencedLog`). An empty append is a claim: it
//! only raises the epoch, fencing the previous owner.

use std::collections::BTreeMap;

use cluster::{Epoch, TopicName};

use crate::types::NodeId;

/// One append as the store saw it, for the fence checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreWrite {
    pub topic: TopicName,
    pub partition: u32,
    pub epoch: Epoch,
    pub writer: NodeId,
    /// `None` for a claim.
    pub value: Option<u64>,
    pub accepted: bool,
}

/// Every partition's newest epoch and accepted values.
#[derive(Debug)]
pub struct PartitionStore {
    /// `false` under `Break::SkipEpochFence`.
    fence: bool,
    newest: BTreeMap<(TopicName, u32), Epoch>,
    values: BTreeMap<(TopicName, u32), Vec<u64>>,
    /// Appends since the checker last looked.
    pub writes: Vec<StoreWrite>,
}

impl PartitionStore {
    pub fn new(fence: bool) -> Self {
        Self {
            fence,
            newest: BTreeMap::new(),
            values: BTreeMap::new(),
            writes: Vec::new(),
        }
    }

    /// Appends `value` (or claims, for `None`) as the owner at `epoch`;
    /// `false` when fenced.
    pub fn append_fenced(
        &mut self,
        writer: NodeId,
        topic: &TopicName,
        partition: u32,
        epoch: Epoch,
        value: Option<u64>,
    ) -> bool {
        let key = (topic.clone(), partition);
        let newest = self.newest.get(&key).copied();
        let accepted = !self.fence || newest.is_none_or(|n| epoch >= n);
        if accepted {
            self.newest
                .insert(key.clone(), newest.map_or(epoch, |n| n.max(epoch)));
            if let Some(value) = value {
                self.values.entry(key).or_default().push(value);
            }
        }
        self.writes.push(StoreWrite {
            topic: topic.clone(),
            partition,
            epoch,
            writer,
            value,
            accepted,
        });
        accepted
    }

    /// How many values the store holds, for the trace.
    pub fn values_stored(&self) -> usize {
        self.values.values().map(Vec::len).sum()
    }
}
