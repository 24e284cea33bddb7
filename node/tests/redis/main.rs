//! Redis storage against real `redis-server` processes (`testkit::redis`): the
//! tests of this binary share one standalone server and one 3-primary/3-replica
//! cluster, each test under a fresh key prefix; tests that stop, restart or
//! reconfigure Redis run their own.
//!
//! - [`cancelled_writes`]: a call dropped mid-write makes the next one read Redis again.
//! - [`committed_deletes`]: a delete committed while Redis is away answers
//!   success; its storage is removed once Redis is back.
//! - [`conformance`]: the storage conformance suite on both, a released
//!   partition reloaded, and a publish batch in one round trip.
//! - [`differential`]: random call sequences answer the same on memory and Redis.
//! - [`durability`]: broker restarts, Redis outages and a planned failover.
//! - [`entry_format`]: format-1 prefixes, the upgrade to format 2, mixed partitions.
//! - [`failover`]: an unplanned failover, measured.
//! - [`known_end`]: a lease with nothing new asks Redis nothing; an append
//!   that landed unanswered is still delivered; a refused read leases nothing.
//! - [`leases_in_memory`]: an at-least-once lease is written by the next call
//!   that changes the cursor; other modes write each lease through.
//! - [`fencing`]: cursor writes fenced by the owner epoch: a stale owner
//!   writes nothing once the new one claimed the partition.
//! - [`readiness`]: after a Redis restart, a passing ping means every connection serves.
//! - [`probe`]: `pubsubgo_redis_up` per node, a killed node read as down.
//! - [`storage_full`]: Redis at `maxmemory`: `507`, nothing stored, recovery.
//! - [`topic_storage`]: ack levels and compression of stored payloads.

mod cancelled_writes;
mod committed_deletes;
mod conformance;
mod differential;
mod durability;
mod entry_format;
mod failover;
mod fencing;
mod known_end;
mod leases_in_memory;
mod probe;
mod range_reads;
mod readiness;
mod storage_full;
mod topic_storage;
