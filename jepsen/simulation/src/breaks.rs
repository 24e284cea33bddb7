//! Test-only breaks of the simulation: each switches off one guarantee, so a
//! test shows that the invariant guarding it fails (with a printed seed).
//! They exist only in this crate; nothing in the broker's crates changes.

use std::fmt;

/// One broken guarantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// Partition storage accepts an append whatever its epoch (no fence).
    SkipEpochFence,
    /// The log store reports a batch flushed before it is durable (it is
    /// made durable when the next batch arrives); a crash loses it.
    LazyFsync,
    /// Node 1's state machine records ownership moves (`SetNodeLive`,
    /// `Rebalance`, `RemoveNode`) as applied without applying them: a
    /// committed entry dropped on one node.
    DropOwnerChanges,
    /// A restarted node has forgotten the vote it cast before the crash.
    ForgetVote,
}

impl Break {
    pub const ALL: [Break; 4] = [
        Break::SkipEpochFence,
        Break::LazyFsync,
        Break::DropOwnerChanges,
        Break::ForgetVote,
    ];

    /// The name `SIM_BREAK` takes.
    pub fn name(self) -> &'static str {
        match self {
            Break::SkipEpochFence => "skip-epoch-fence",
            Break::LazyFsync => "lazy-fsync",
            Break::DropOwnerChanges => "drop-owner-changes",
            Break::ForgetVote => "forget-vote",
        }
    }

    pub fn parse(name: &str) -> Option<Break> {
        Break::ALL.into_iter().find(|b| b.name() == name)
    }
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
