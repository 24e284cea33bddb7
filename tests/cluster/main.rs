//! Multi-node scenarios: N in-process nodes on loopback ports (see the
//! `testkit::TestCluster`). Each test starts its own cluster.

mod ack_epochs;
mod consistency;
mod failover;
mod groups;
mod placement;
mod routing;
mod support;
mod sync_scale;
