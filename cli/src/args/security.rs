//! How the CLI proves who it talks to and who it is: the CA file an
//! `https://` server's certificate must chain to, and the credentials it sends.

use std::path::PathBuf;

use clap::Args;

/// The help heading of options every command takes (as `super::GLOBAL`).
const GLOBAL: &str = "Global options";

/// `--ca-file` and `--token`, global to every command.
#[derive(Debug, Clone, Default, Args)]
pub struct SecurityArgs {
    /// PEM file of the CA certificates an `https://` server's certificate must
    /// chain to [default: the system's trust store].
    #[arg(long, global = true, help_heading = GLOBAL, env = "PUBSUB_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Credentials sent as `Authorization: Bearer`: an API key or a JWT.
    #[arg(long, global = true, help_heading = GLOBAL, env = "PUBSUB_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}
