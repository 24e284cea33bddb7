//! `jepsen`: the chaos harness's binary behind `jepsen/run`.
//!
//! `--list` names the scenarios; `--scenario NAME` runs one, `--suite ci` the
//! CI selection (each scenario in its own sandbox), ending with `N passed, N
//! failed`. Exit codes: 0 when every asserted property holds, 1 on a
//! violation, 2 on a setup error (3 when the machine cannot run it: not root,
//! no `unshare`, `ip` or `nft`).

#![allow(
    clippy::print_stdout,
    reason = "the harness prints the scenario list and the suite's tally"
)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use jepsen::recorder::Recorder;
use jepsen::run::{Config, run, setup};
use jepsen::{sandbox, scenario};

/// PubSubGo's chaos harness: real nodes and Redis in network namespaces, a
/// seeded nemesis, a recorded history and checkers over it.
#[derive(Debug, Parser)]
#[command(name = "jepsen/run")]
struct Args {
    /// Name the scenarios and exit.
    #[arg(long)]
    list: bool,
    /// Run this scenario.
    #[arg(long, conflicts_with = "suite")]
    scenario: Option<String>,
    /// Run a selection: `ci` (the scenarios `--list` marks ci).
    #[arg(long)]
    suite: Option<String>,
    /// Seed of the nemesis schedule.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds from the quiet phase to the heal.
    #[arg(long, default_value_t = 45)]
    time_limit: u64,
    /// Broker nodes.
    #[arg(long, default_value_t = 3)]
    nodes: u64,
    /// Output directory (a suite puts each scenario in a subdirectory).
    #[arg(long, default_value = "target/jepsen")]
    out: PathBuf,
    /// The pubsubgo-server binary; default: beside this one.
    #[arg(long)]
    server: Option<PathBuf>,
    /// Extra `KEY=VALUE` environment for every node (test-only breaks).
    #[arg(long = "node-env")]
    node_env: Vec<String>,
    /// Pass only if a property starting with this fails (showing a checker
    /// catches a test-only break).
    #[arg(long)]
    expect_violation: Option<String>,
    /// With `--suite`: a server built with the test-only breaks
    /// (`jepsen/build-breaks`); each break is run and must be caught.
    #[arg(long)]
    breaks_server: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match main_with(args) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("jepsen: setup error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn main_with(args: Args) -> Result<u8> {
    if args.list {
        for s in scenario::all() {
            let ci = if s.ci { "ci" } else { "" };
            println!("{:<14} {:<3} {}", s.name, ci, s.about);
        }
        return Ok(0);
    }
    if let Some(suite) = &args.suite {
        return run_suite(&args, suite);
    }
    let Some(name) = &args.scenario else {
        bail!("give --scenario NAME, --suite ci or --list");
    };
    let scenario = scenario::named(name)
        .with_context(|| format!("no scenario {name:?}; --list names them"))?;
    if !sandbox::inside() {
        if let Some(code) = unable() {
            return Ok(code);
        }
        return Ok(sandbox::reexec()?.clamp(0, 255) as u8);
    }
    let server = match &args.server {
        Some(path) => path.clone(),
        None if scenario.needs_breaks_server() => {
            std::env::current_exe()?.with_file_name("pubsubgo-server-breaks")
        }
        None => std::env::current_exe()?.with_file_name("pubsubgo-server"),
    };
    if !sandbox::executable(&server) {
        bail!(
            "no server binary at {} (build it: cargo build --bin pubsubgo-server, or jepsen/build-breaks)",
            server.display()
        );
    }
    let _ = std::fs::remove_dir_all(&args.out);
    std::fs::create_dir_all(&args.out)?;
    let node_env = args
        .node_env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .with_context(|| format!("--node-env {kv:?} is not KEY=VALUE"))
        })
        .collect::<Result<_>>()?;
    let config = Config {
        scenario,
        seed: args.seed,
        time_limit: args.time_limit,
        nodes: args.nodes,
        out: std::fs::canonicalize(&args.out)?,
        server: std::fs::canonicalize(server)?,
        node_env,
    };
    sandbox::prepare()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let recorder = Recorder::new();
        let nemesis = setup(&config, &recorder).await?;
        let results = run(&config, recorder, nemesis).await?;
        for outcome in &results.outcomes {
            eprintln!("  {}", outcome.line());
            for example in &outcome.examples {
                eprintln!("      {example}");
            }
        }
        eprintln!(
            "{} seed {}: {} ({} acked, {} failed, {} unknown publishes; {} deliveries) in {}",
            config.scenario.name,
            config.seed,
            if results.passed { "passed" } else { "FAILED" },
            results.counts.publishes_acked,
            results.counts.publishes_failed,
            results.counts.publishes_unknown,
            results.counts.deliveries,
            config.out.display()
        );
        if let Some(prefix) = &args.expect_violation {
            let caught = results
                .outcomes
                .iter()
                .any(|o| o.property.starts_with(prefix.as_str()) && !o.passed);
            eprintln!(
                "expected a violation of {prefix}: {}",
                if caught { "caught" } else { "NOT caught" }
            );
            return Ok(if caught { 0 } else { 1 });
        }
        Ok(if results.passed { 0 } else { 1 })
    })
}

/// The CI selection, each scenario in its own sandbox.
fn run_suite(args: &Args, suite: &str) -> Result<u8> {
    if suite != "ci" {
        bail!("no suite {suite:?}; the one suite is ci");
    }
    if let Some(code) = unable() {
        return Ok(code);
    }
    let (passed, failed) = jepsen::suite::run(&jepsen::suite::SuiteArgs {
        seed: args.seed,
        time_limit: args.time_limit,
        nodes: args.nodes,
        out: args.out.clone(),
        server: args.server.clone(),
        breaks_server: args.breaks_server.clone(),
    })?;
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { 0 } else { 1 })
}

/// `Some(3)`, said on stderr, when this machine lacks what a run needs.
fn unable() -> Option<u8> {
    let missing = sandbox::missing();
    if missing.is_empty() {
        return None;
    }
    eprintln!(
        "jepsen: skipped, this machine lacks: {}",
        missing.join(", ")
    );
    Some(3)
}
