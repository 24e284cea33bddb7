//! Multi-node stories: a Raft group of in-process nodes on loopback ports.
//! Every wait is on a condition (metrics or a read), never a fixed sleep.

mod harness;

mod failover;
mod formation;
mod proposals;
mod recovery;
