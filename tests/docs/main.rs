//! The documentation against the repository and the code, so it cannot rot:
//! `make verify` fails as soon as a page names a file that moved, a setting
//! the server does not have, or an error code it does not send.
//!
//! - [`paths`]: every repository path in backticks and every relative link in
//!   `README.md` and `docs/*.md` exists, and every `#anchor` names a heading.
//! - [`settings`]: the configuration table of `docs/operations.md` lists
//!   exactly the server's flags and `PUBSUB_*` variables, with the defaults
//!   `--help` states and file keys the config parser accepts.
//! - [`error_codes`]: the error table of `docs/api.md` is `api::ErrorCode`:
//!   every code with its status and `retryable`, and no other.
//! - [`markdown`]: the little of Markdown these checks read.

mod error_codes;
mod markdown;
mod paths;
mod settings;
