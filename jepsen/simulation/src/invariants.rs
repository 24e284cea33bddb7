//! The invariants, checked after every step of a run. Each has a name that a
//! violation reports and a break (`breaks`) that shows it can fail.
//!
//! | invariant | holds when | break that violates it |
//! |---|---|---|
//! | `one-leader-per-term` | no two nodes are ever leader in the same term (Raft §5.2, election safety) | `forget-vote` |
//! | `committed-log` | every node applies the same entry at each index, each index once and in order (state machine safety), and every acknowledged proposal is the entry at the index it was acknowledged at | `lazy-fsync` |
//! | `placement` | in every node's metadata each partition has exactly one owner, a known node (none only while no node is live); an epoch names one (partition, owner) only; a partition's epoch never decreases as the applied index grows | `drop-owner-changes` |
//! | `raft-running` | every running node's Raft core runs (openraft stops a node whose own assertions or storage fail) | none: it guards against openraft's fatal errors (a failing store); openraft's assertions panic its core instead, and such a seed fails `heal` |
//! | `epoch-fence` | storage accepts no append under an epoch older than one it accepted for that partition, and every accepted append comes from the owner the metadata gave that epoch | `skip-epoch-fence` |

use std::collections::BTreeMap;

use cluster::{Epoch, Metadata, TopicName};

use crate::partition_store::StoreWrite;
use crate::store::Applied;
use crate::types::NodeId;

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

/// What the checker knows of the whole run.
#[derive(Debug, Default)]
pub struct Checker {
    leaders: BTreeMap<u64, NodeId>,
    /// The committed entry (hash) at each index, as the first node applied it.
    committed: BTreeMap<u64, u64>,
    /// The index each node applies next; reset when it restarts.
    next_apply: BTreeMap<NodeId, u64>,
    /// Acknowledged proposals: (index, entry hash).
    acked: Vec<(u64, u64)>,
    /// Per partition: the epoch observed at each applied index.
    epochs: BTreeMap<(TopicName, u32), BTreeMap<u64, Epoch>>,
    /// Which partition and owner each epoch was given to.
    epoch_owner: BTreeMap<Epoch, (TopicName, u32, NodeId)>,
    /// Per partition: the newest epoch storage accepted.
    fenced_at: BTreeMap<(TopicName, u32), Epoch>,
}

type Check = Result<(), Violation>;

fn violation(invariant: &'static str, detail: String) -> Check {
    Err(Violation { invariant, detail })
}

impl Checker {
    /// A node (re)started with an empty state machine: it applies from the start.
    pub fn restarted(&mut self, node: NodeId) {
        self.next_apply.insert(node, 0);
    }

    /// `node` reported itself leader of `term`.
    pub fn leader(&mut self, term: u64, node: NodeId) -> Check {
        match self.leaders.insert(term, node) {
            Some(other) if other != node => violation(
                "one-leader-per-term",
                format!("nodes {other} and {node} both led term {term}"),
            ),
            _ => Ok(()),
        }
    }

    pub fn applied(&mut self, applied: &Applied) -> Check {
        let next = self.next_apply.entry(applied.node).or_insert(0);
        if applied.index != *next {
            return violation(
                "committed-log",
                format!(
                    "node {} applied index {} where {} was next",
                    applied.node, applied.index, next
                ),
            );
        }
        *next += 1;
        match self.committed.get(&applied.index) {
            Some(&hash) if hash != applied.entry => violation(
                "committed-log",
                format!(
                    "node {} applied a different entry at index {} than another node did",
                    applied.node, applied.index
                ),
            ),
            Some(_) => Ok(()),
            None => {
                self.committed.insert(applied.index, applied.entry);
                self.check_acked()
            }
        }
    }

    /// A proposal was acknowledged as committed at `index` with this entry hash.
    pub fn acked(&mut self, index: u64, entry: u64) -> Check {
        self.acked.push((index, entry));
        self.check_acked()
    }

    fn check_acked(&self) -> Check {
        for (index, entry) in &self.acked {
            if let Some(committed) = self.committed.get(index)
                && committed != entry
            {
                return violation(
                    "committed-log",
                    format!("the proposal acknowledged at index {index} was replaced"),
                );
            }
        }
        Ok(())
    }

    /// At the end, after the heal: every acknowledged proposal was applied.
    pub fn all_acked_applied(&self) -> Check {
        match self
            .acked
            .iter()
            .find(|(i, _)| !self.committed.contains_key(i))
        {
            Some((index, _)) => violation(
                "committed-log",
                format!("the proposal acknowledged at index {index} was never applied"),
            ),
            None => self.check_acked(),
        }
    }

    /// One node's metadata, applied up to `index`.
    pub fn placement(&mut self, node: NodeId, index: u64, metadata: &Metadata) -> Check {
        let placement = metadata.placement();
        for (topic, owners) in placement.owners() {
            for (partition, owner) in owners.iter().enumerate() {
                let partition = partition as u32;
                let Some(owner) = owner else {
                    // Placement waits for the first live node.
                    if placement.nodes().any(|n| n.live) {
                        return violation(
                            "placement",
                            format!(
                                "node {node}: {topic}/{partition} has no owner at index {index}"
                            ),
                        );
                    }
                    continue;
                };
                if placement.node(owner.node).is_none() {
                    return violation(
                        "placement",
                        format!(
                            "node {node}: {topic}/{partition} is owned by unknown node {}",
                            owner.node
                        ),
                    );
                }
                let given = (topic.clone(), partition, owner.node);
                match self.epoch_owner.get(&owner.epoch) {
                    Some(first) if *first != given => {
                        return violation(
                            "placement",
                            format!("epoch {} names {first:?} and {given:?}", owner.epoch.get()),
                        );
                    }
                    Some(_) => {}
                    None => {
                        self.epoch_owner.insert(owner.epoch, given);
                    }
                }
                let seen = self.epochs.entry((topic.clone(), partition)).or_default();
                let before = seen.range(..=index).next_back().map(|(_, e)| *e);
                let after = seen.range(index..).next().map(|(_, e)| *e);
                if before.is_some_and(|e| e > owner.epoch) || after.is_some_and(|e| e < owner.epoch)
                {
                    return violation(
                        "placement",
                        format!(
                            "node {node}: {topic}/{partition} has epoch {} at index {index}, \
                             out of order with {before:?} before and {after:?} after",
                            owner.epoch.get()
                        ),
                    );
                }
                seen.insert(index, owner.epoch);
            }
        }
        Ok(())
    }

    /// Appends storage saw since the last step.
    pub fn store_write(&mut self, write: &StoreWrite) -> Check {
        if !write.accepted {
            return Ok(());
        }
        let key = (write.topic.clone(), write.partition);
        let newest = self.fenced_at.entry(key).or_insert(write.epoch);
        if write.epoch < *newest {
            return violation(
                "epoch-fence",
                format!(
                    "node {} wrote {}/{} under epoch {} after epoch {} was accepted",
                    write.writer,
                    write.topic,
                    write.partition,
                    write.epoch.get(),
                    newest.get()
                ),
            );
        }
        *newest = write.epoch;
        match self.epoch_owner.get(&write.epoch) {
            Some((topic, partition, owner))
                if (topic, *partition, *owner) != (&write.topic, write.partition, write.writer) =>
            {
                violation(
                    "epoch-fence",
                    format!(
                        "node {} wrote {}/{} under epoch {}, which belongs to node {owner} on {topic}/{partition}",
                        write.writer,
                        write.topic,
                        write.partition,
                        write.epoch.get()
                    ),
                )
            }
            _ => Ok(()),
        }
    }
}
