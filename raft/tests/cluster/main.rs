//! Multi-node stories: a Raft group of in-process nodes on loopback ports.
//! Every wait is on a condition (metrics, a read, or a polled value with a
//! deadline), never a fixed sleep.

mod harness;

mod failover;
mod formation;
mod leadership;
mod membership;
mod proposals;
mod recovery;
mod routes;
