//! `pubsub-cli`: the command-line client of PubSubGo.
//!
//! # Modules
//! - [`args`]: the command line (clap derive): global flags, nouns and verbs, value parsers.
//! - [`commands`]: one file per noun (`topics`, `publish`, `subscriptions`, `pull`
//!   with `ack` and `nack`, `subscribe`, `groups`, `dlq`, `cluster`, and the `bench`
//!   folder); each calls [`api::Client`] and prints the answer.
//! - [`output`]: pretty JSON for scripts, borderless tables and message lines for people.
//! - [`failure`]: how an error is told on stderr (sentence, code, hint) and the exit codes.
//!
//! A command travels `main` → [`args::Cli`] (usage errors exit 2 there) →
//! [`commands::run`] → `api::Client` → [`output`] on stdout, or [`failure::Report`]
//! on stderr with exit code 1.
#![allow(clippy::print_stdout, reason = "a CLI prints its results")]
#![allow(clippy::print_stderr, reason = "a CLI prints its errors and progress")]

mod args;
mod commands;
mod failure;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::failure::{ClusterUnhealthy, Report, exit_code};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(usage) => {
            // --help and --version come here too: they print to stdout and succeed.
            let printed = usage.print();
            let code = if usage.use_stderr() || printed.is_err() {
                exit_code::USAGE
            } else {
                exit_code::OK
            };
            return ExitCode::from(code);
        }
    };
    let server = cli.server.clone();
    let timeout = cli.timeout;
    // One thread is plenty for a request and its answer; a bench's producers and
    // consumers need every core, or the client would be what is measured.
    let mut runtime = match cli.command {
        Command::Bench(_) => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    };
    let outcome = runtime
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(commands::run(cli)));
    match outcome {
        Ok(()) => ExitCode::from(exit_code::OK),
        Err(error) if error.downcast_ref::<ClusterUnhealthy>().is_some() => {
            eprintln!("error: {error}");
            ExitCode::from(exit_code::CLUSTER_UNHEALTHY)
        }
        Err(error) => {
            eprintln!("{}", Report::new(&error, &server, timeout).render());
            ExitCode::from(exit_code::ERROR)
        }
    }
}
