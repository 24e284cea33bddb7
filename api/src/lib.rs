//! The public contract of PubSubGo, shared by the server, the CLI and the tests.
//!
//! # Modules
//! - [`types`]: JSON request and response bodies (lowerCamelCase, unknown fields rejected).
//! - [`duration`], [`timestamp`], [`data`]: the JSON encodings of durations (`"10s"`),
//!   times (RFC 3339) and payloads (base64).
//! - [`error`]: [`ErrorCode`] and the RFC 9457 [`Problem`] body every error uses.
//! - [`frames`]: JSON WebSocket frames of `:stream` and `:publishStream`; [`binary`]: their
//!   binary alternative.
//! - [`paths`]: the URL of every endpoint and the server's route templates;
//!   [`verbs`]: the custom verbs of `{name}:{verb}` URLs and the method each takes.
//! - [`compression`]: the `Content-Encoding` codecs a publish body may use.
//! - [`limits`]: the documented request limits.
//! - [`openapi`]: the OpenAPI document served at `/openapi.json`.
//! - [`client`], [`stream`]: the Rust client (HTTP and WebSocket); both report
//!   a [`ClientError`]; [`ClientOptions`] says how they reach the server
//!   (`https://` with a CA file, credentials).
//! - [`tls`]: rustls configs on the `ring` provider, for the client and the server.
//! - [`push`]: what the broker POSTs to push endpoints; [`webhook`]: its
//!   Standard Webhooks signature (id and timestamp signed with the body).
//!
//! A publish travels `client::Client::publish` → `paths::topic_verb` with
//! [`verbs::TopicVerb::Publish`] → the server's [`paths::TOPIC_ROUTE`], which
//! splits the verb off, decodes [`types::PublishRequest`] and answers
//! [`types::PublishResponse`] or a [`Problem`].

pub mod binary;
pub mod client;
mod client_error;
mod client_options;
pub mod compression;
pub mod data;
pub mod duration;
pub mod error;
pub mod frames;
mod http_transport;
pub mod limits;
pub mod openapi;
pub mod paths;
pub mod push;
pub mod stream;
pub mod timestamp;
pub mod tls;
pub mod types;
pub mod verbs;
pub mod webhook;

pub use client::{Client, ClientError, ClientOptions, PublishOptions};
pub use client_error::{TransportError, with_causes};
pub use error::{ErrorCode, Problem};
