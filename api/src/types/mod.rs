//! JSON bodies of the HTTP API, grouped by resource.
//!
//! Requests reject unknown fields, so a typo is an error instead of a silent
//! default. Responses omit empty optional fields.

mod cluster;
mod delivery;
mod delivery_json;
mod groups;
mod health;
mod publish;
mod subscriptions;
mod topics;

pub use cluster::*;
pub use delivery::*;
pub use groups::*;
pub use health::*;
pub use publish::*;
pub use subscriptions::*;
pub use topics::*;

/// The request fields whose values are JSON arrays. Everywhere else a
/// request holds objects and single values (the server refuses an array
/// there, although serde would read a struct from one).
pub const LIST_FIELDS: &[&str] = &["messages", "ackIds"];

/// The empty JSON object `{}`, answered by acknowledge, nack and delete.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Empty {}
