//! The command line beside the flags: the server's subcommands and the seed's
//! one-dash `-config FILE` spelling.

use std::ffi::OsString;

use clap::Subcommand;

/// Subcommands of `pubsubgo-server`; with none it runs the broker.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Exits 0 when the broker configured by the same flags, environment and
    /// file answers `GET /healthz` on its client port (or `/readyz` with
    /// `--ready`); for container health checks, as the image has no curl.
    Healthcheck {
        /// Ask `/readyz` (leader known, log applied, storage answering) instead.
        #[arg(long)]
        ready: bool,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout_seconds: u64,
    },
}

/// The arguments with the seed's `-config FILE` (and `-config=FILE`) read as
/// `--config`: Go's flag package writes long flags with one dash, and clap
/// would otherwise read `-config` as `-c onfig`.
pub fn accept_single_dash_config(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    args.into_iter()
        .map(|arg| match arg.to_str() {
            Some("-config") => OsString::from("--config"),
            Some(text) if text.starts_with("-config=") => OsString::from(format!("-{text}")),
            _ => arg,
        })
        .collect()
}
