//! [`Net`]: the run's network inside the sandbox: a bridge the harness sits on
//! (10.77.0.254), one network namespace per broker node (10.77.0.N) and one for
//! Redis (10.77.0.100), each joined to the bridge by a veth pair; faults are
//! nftables rules on the bridge (the `bridge jepsen` table), so one `heal`
//! flushes them all.

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};

use crate::sandbox::{run, run_with_input};

/// The harness's own address on the bridge.
pub const HARNESS: &str = "10.77.0.254";
/// Redis's address.
pub const REDIS: &str = "10.77.0.100";
const BRIDGE: &str = "jbr0";
// Not `fwd`: a reserved word in nft.
const CHAINS: [&str; 3] = ["jforward", "jinput", "joutput"];

/// The bridge and the namespaces of one run.
#[derive(Debug)]
pub struct Net {
    nodes: u64,
}

/// A host's namespace name: `n1`, `n2`, … or `redis`.
pub fn namespace(node: u64) -> String {
    format!("n{node}")
}

/// A broker node's address.
pub fn address(node: u64) -> String {
    format!("10.77.0.{node}")
}

impl Net {
    /// Builds the bridge, `nodes` broker namespaces and Redis's.
    pub fn build(nodes: u64) -> Result<Self> {
        run("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
        run(
            "ip",
            &["addr", "add", &format!("{HARNESS}/24"), "dev", BRIDGE],
        )?;
        run("ip", &["link", "set", BRIDGE, "up"])?;
        for node in 1..=nodes {
            attach(&namespace(node), &address(node), node)?;
        }
        attach("redis", REDIS, 100)?;
        let mut table = String::from("table bridge jepsen {\n");
        for (chain, hook) in CHAINS.iter().zip(["forward", "input", "output"]) {
            table.push_str(&format!(
                "  chain {chain} {{ type filter hook {hook} priority 0; policy accept; }}\n"
            ));
        }
        table.push_str("}\n");
        run_with_input("nft", &["-f", "-"], &table)?;
        Ok(Self { nodes })
    }

    /// Every broker node's address.
    pub fn brokers(&self) -> Vec<String> {
        (1..=self.nodes).map(address).collect()
    }

    /// Adds a namespace for a broker beside the first `nodes` (a non-voting
    /// member, `membership.rs`), with its address; once per id.
    pub fn attach_extra(&self, node: u64) -> Result<()> {
        if std::path::Path::new("/run/netns")
            .join(namespace(node))
            .exists()
        {
            return Ok(());
        }
        attach(&namespace(node), &address(node), node)
    }

    /// Drops every packet between the addresses of `a` and those of `b`, both ways.
    pub fn cut(&self, a: &[String], b: &[String]) -> Result<()> {
        let (a, b) = (a.join(", "), b.join(", "));
        let mut rules = String::new();
        for chain in CHAINS {
            rules.push_str(&format!(
                "add rule bridge jepsen {chain} ip saddr {{ {a} }} ip daddr {{ {b} }} drop\n\
                 add rule bridge jepsen {chain} ip saddr {{ {b} }} ip daddr {{ {a} }} drop\n"
            ));
        }
        run_with_input("nft", &["-f", "-"], &rules)
    }

    /// Drops `percent` of all packets on the bridge, at random.
    pub fn lose(&self, percent: u32) -> Result<()> {
        let mut rules = String::new();
        for chain in CHAINS {
            rules.push_str(&format!(
                "add rule bridge jepsen {chain} numgen random mod 100 < {percent} drop\n"
            ));
        }
        run_with_input("nft", &["-f", "-"], &rules)
    }

    /// Removes every fault rule.
    pub fn heal(&self) -> Result<()> {
        for chain in CHAINS {
            run("nft", &["flush", "chain", "bridge", "jepsen", chain])?;
        }
        Ok(())
    }
}

/// A namespace `name` joined to the bridge with `addr` (the veth `jv<index>`).
pub fn attach(name: &str, addr: &str, index: u64) -> Result<()> {
    let host_side = format!("jv{index}");
    run("ip", &["netns", "add", name])?;
    run(
        "ip",
        &[
            "link", "add", &host_side, "type", "veth", "peer", "name", "eth0", "netns", name,
        ],
    )?;
    run("ip", &["link", "set", &host_side, "master", BRIDGE, "up"])?;
    run(
        "ip",
        &[
            "-n",
            name,
            "addr",
            "add",
            &format!("{addr}/24"),
            "dev",
            "eth0",
        ],
    )?;
    run("ip", &["-n", name, "link", "set", "lo", "up"])?;
    run("ip", &["-n", name, "link", "set", "eth0", "up"])
}

/// Starts `program` inside namespace `namespace` with `ip netns exec` (which
/// execs, so the child's pid is the program's own), its output appended to
/// `dir/logs/<log>.log` across restarts.
pub fn spawn_in<A: AsRef<OsStr>>(
    namespace: &str,
    program: impl AsRef<OsStr>,
    args: &[A],
    env: &[(String, String)],
    dir: &Path,
    log: &str,
) -> Result<Child> {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join(format!("{log}.log")))
        .context("opening a log file")?;
    let err = out.try_clone()?;
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", namespace])
        .arg(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    command.spawn().with_context(|| format!("starting {log}"))
}
