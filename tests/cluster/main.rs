//! Multi-node scenarios: N in-process nodes on loopback ports (see the
//! `testkit::TestCluster`). Each test starts its own cluster.

mod ack_epochs;
mod consistency;
mod failover;
mod groups;
mod load;
mod lost_disk;
mod members;
mod ownership;
mod placement;
mod rebalance;
mod rolling;
mod routing;
mod scaling;
mod support;
mod sync_scale;
