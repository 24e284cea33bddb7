//! [`ConsensusError`], the one error type of this crate's public surface.

use std::io;

use cluster::MetadataError;
use thiserror::Error;

/// Why a proposal, read or start did not succeed, split by what a caller may
/// assume about the command and whether a retry is safe.
#[derive(Debug, Error)]
pub enum ConsensusError {
    /// Committed, and `apply` rejected it: a definite failure, the metadata
    /// did not change. Retrying gives the same answer.
    #[error(transparent)]
    Rejected(#[from] MetadataError),
    /// No leader is known (an election is running, or no quorum). The command
    /// was not appended; retry later.
    #[error("no metadata leader is known: {reason}")]
    NoLeader { reason: String },
    /// The command did not reach a working leader, or this node's Raft has
    /// stopped. The command was not appended; retry later.
    #[error("metadata consensus is unavailable: {reason}")]
    Unavailable { reason: String },
    /// The command may or may not have been committed (its entry was replaced
    /// on a leader change, or the leader's answer was lost). Read the metadata
    /// to find out before retrying a non-idempotent command.
    #[error("the outcome of the metadata command is unknown: {reason}")]
    OutcomeUnknown { reason: String },
    /// A membership change was refused before anything changed (such as
    /// removing the last voter). Retrying gives the same answer.
    #[error("the membership change was refused: {reason}")]
    Refused { reason: String },
    /// The data directory or the Raft log could not be opened.
    #[error("cannot open the Raft data in {path}: {source}")]
    Storage {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The configuration is inconsistent.
    #[error("invalid consensus configuration: {reason}")]
    Config { reason: String },
}

impl ConsensusError {
    /// Whether sending the same request again is safe and may succeed: true
    /// only when the command surely was not appended.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::NoLeader { .. } | Self::Unavailable { .. })
    }
}
