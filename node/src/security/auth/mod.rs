//! Authentication and authorization of client requests (DESIGN §10), off
//! unless `PUBSUB_AUTH_ENABLED` is true.
//!
//! - [`api_keys`]: principals by the SHA-256 of their API key;
//! - [`jwt`]: principals by a JWT verified with a JWKS;
//! - [`policy`]: allow rules of resource pattern × action per principal;
//! - [`requirement`]: what each request needs, from its method and path;
//! - [`gatekeeper`]: the three files loaded (and reloaded) together, asked by
//!   the HTTP middleware `crate::http::auth` before any handler runs.

pub mod api_keys;
pub mod gatekeeper;
pub mod jwt;
pub mod policy;
pub mod requirement;

pub use self::gatekeeper::Gatekeeper;
pub use self::policy::Action;
pub use self::requirement::Requirement;
