//! The run's own sandbox: the harness re-executes itself under `unshare` with
//! new pid, mount and network namespaces, so every process it starts, every
//! namespace, link and firewall rule dies with it, `kill -9` included, and
//! nothing it does is visible on the machine's own network.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Set in the re-executed harness: it is inside its sandbox.
const INSIDE: &str = "JEPSEN_SANDBOX";

/// Whether this process is the sandboxed harness.
pub fn inside() -> bool {
    std::env::var_os(INSIDE).is_some()
}

/// What the harness needs and did not find (root, `unshare`, `ip`, `nft`);
/// empty when it can run.
pub fn missing() -> Vec<String> {
    let mut missing = Vec::new();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        missing.push(
            "root (network namespaces and nftables need CAP_SYS_ADMIN and CAP_NET_ADMIN)"
                .to_owned(),
        );
    }
    for tool in ["unshare", "ip", "nft", "redis-server"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            missing.push(tool.to_owned());
        }
    }
    missing
}

/// Runs this same program with the same arguments inside a fresh sandbox and
/// returns its exit code. Proxy settings are dropped: every address the run
/// talks to is on its own bridge.
pub fn reexec() -> Result<i32> {
    let me = std::env::current_exe().context("the harness's own path")?;
    let status = Command::new("unshare")
        .args([
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--mount",
            "--net",
            "--propagation",
            "private",
            "--",
        ])
        .arg(me)
        .args(std::env::args_os().skip(1))
        .env(INSIDE, "1")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .status()
        .context("running unshare")?;
    Ok(status.code().unwrap_or(2))
}

/// Inside the sandbox: a private `/run/netns` so namespace names exist only here.
pub fn prepare() -> Result<()> {
    std::fs::create_dir_all("/run/netns").context("creating /run/netns")?;
    run("mount", &["-t", "tmpfs", "jepsen", "/run/netns"])?;
    run("ip", &["link", "set", "lo", "up"])
}

/// Runs a command and fails with its stderr when it fails.
pub fn run(program: &str, args: &[&str]) -> Result<()> {
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !output.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Runs `program` with `input` on its standard input.
pub fn run_with_input(program: &str, args: &[&str], input: &str) -> Result<()> {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("running {program}"))?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(input.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "{program} failed: {}\n{input}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Whether a path exists and is executable by someone.
pub fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
