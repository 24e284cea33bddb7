//! Multi-node scenarios: N in-process nodes on loopback ports (see the
//! `testkit::TestCluster`). Each test starts its own cluster.

mod consistency;
mod failover;
mod placement;
mod routing;
mod support;
