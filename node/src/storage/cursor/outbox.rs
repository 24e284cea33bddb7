//! The dead-letter outbox: dead letters whose copy in the dead-letter topic
//! is not stored yet.
//!
//! A message is marked dead with its copy pending in the same cursor step
//! that takes it out of delivery, so the pending copy is as durable as the
//! dead mark itself: a node that dies before the copy is stored leaves it in
//! the outbox, and whoever drains the outbox next (any node) stores it. The
//! mark is cleared only once the copy is stored.

use super::{Cursor, LogView};
use crate::storage::{CopiedDeadLetter, DeadLetter};

impl Cursor {
    /// Dead-lettered offsets at or above `start` whose copy is pending, in
    /// order: what draining the outbox reads.
    pub(crate) fn outbox_reads(&self, start: u64) -> Vec<u64> {
        self.dead
            .range(start..)
            .filter(|(_, dead)| dead.copy_pending)
            .map(|(offset, _)| *offset)
            .collect()
    }

    /// Up to `max` dead letters whose copy is pending, oldest offset first.
    pub(crate) fn outbox(&self, log: &(impl LogView + ?Sized), max: usize) -> Vec<DeadLetter> {
        self.dead_letters_where(log, max, |dead| dead.copy_pending)
    }

    /// Takes stored copies out of the outbox. A copy names the death it
    /// copied (`dead_at_millis`): a message redriven and dead again since
    /// keeps its new copy pending.
    pub(crate) fn copied(&mut self, copies: &[CopiedDeadLetter]) {
        for copy in copies {
            let Some(dead) = self.dead.get(&copy.offset) else {
                continue;
            };
            if !dead.copy_pending || dead.at != copy.dead_at_millis {
                continue;
            }
            let mut dead = dead.clone();
            dead.copy_pending = false;
            self.set_dead(copy.offset, dead);
        }
    }
}
