//! The `pubsubgo-server` binary with its security settings on, as an
//! operator turns them on (`docs/security.md`): TLS on the client port with
//! a certificate rotated under it, API keys and JWTs, the allow-rule policy,
//! and the audit log.
//!
//! - [`process`]: the binary started with JSON logs on free ports.
//! - [`tls`]: HTTPS and WSS with a CA file; certificate reload without restart.
//! - [`peer_tls`]: a three-node cluster over mutual TLS; callers without a
//!   cluster certificate refused.
//! - [`redis_tls`]: `rediss://` to a real TLS redis-server with a CA file.
//! - [`redis_cluster_tls`]: `rediss://` seeds of a real TLS Redis Cluster.
//! - [`auth`]: 401 and 403 as the acceptance list states them.
//! - [`rate_limits`]: 429 with `Retry-After` per principal and per address.
//! - [`webhook`]: push to HTTPS, Standard Webhooks signatures, a replay refused.
//! - [`fuzz`]: the server's parsers of JWTs, auth files and the config file
//!   fed arbitrary input (property tests in the ordinary test command; the
//!   cargo-fuzz targets of `node/fuzz` run the longer campaigns).
//! - [`jwt`]: bearer JWTs (HS256, ES256) with `exp`/`aud`/`iss` checked.

mod auth;
mod fuzz;
mod jwt;
mod peer_tls;
mod process;
mod rate_limits;
mod redis_cluster_tls;
mod redis_tls;
mod tls;
mod webhook;
