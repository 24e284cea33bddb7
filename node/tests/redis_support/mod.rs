//! Real `redis-server` processes for the Redis storage tests: one standalone
//! server and one 3-primary/3-replica cluster shared by the tests of a binary
//! (each test isolates itself with a fresh key prefix), plus dedicated servers
//! for tests that stop and restart Redis.
//!
//! Every server runs under a small `sh` guard that holds the read end of a pipe
//! whose write end only this test process has: when the pipe closes (the
//! server is dropped, or the process exits however it exits, which is what
//! ends the shared servers) the guard kills its server and removes its
//! directory. Servers bind 127.0.0.1 on ports the kernel hands out.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use node::storage::redis::{RedisSettings, RedisStorage};

/// Ports that belong to other services on this machine; never used here.
const RESERVED_PORTS: &[u16] = &[6379, 4222, 5672, 1883, 3306, 5432];

/// How long a server or the cluster may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(30);

const GUARD: &str = r#"
dir="$1"; clean="$2"; shift 2
redis-server "$@" &
pid=$!
echo "$pid"
IFS= read -r order
cat > /dev/null
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [ "$clean" = 1 ] && [ "$order" != keep ]; then rm -rf "$dir"; fi
"#;

/// One `redis-server` process.
#[derive(Debug)]
pub struct RedisServer {
    pub port: u16,
    pub dir: PathBuf,
    pid: u32,
    guard: Child,
    extra: Vec<String>,
}

impl RedisServer {
    /// A standalone server in a fresh directory, removed with the server.
    pub fn standalone(extra: &[&str]) -> Self {
        Self::on_a_free_port("standalone", extra)
    }

    /// Starts a server in a fresh directory named after `name` on a free port.
    /// A port the kernel handed out may be taken again before redis-server binds
    /// it (other processes' outgoing connections draw from the same range), so a
    /// server that exits without answering is started again on another port.
    fn on_a_free_port(name: &str, extra: &[&str]) -> Self {
        const TRIES: usize = 5;
        for _ in 1..TRIES {
            if let Ok(server) = Self::try_start(&fresh_dir(name), free_port(), extra) {
                return server;
            }
        }
        Self::start(&fresh_dir(name), free_port(), extra)
    }

    /// Starts `redis-server` in `dir` on `port` and waits until it answers.
    pub fn start(dir: &Path, port: u16, extra: &[&str]) -> Self {
        Self::try_start(dir, port, extra).unwrap_or_else(|log| {
            panic!("redis-server on port {port} exited before answering; its log:\n{log}")
        })
    }

    /// Like [`RedisServer::start`], but answers the server's log when it exits
    /// before answering (a port taken meanwhile, say).
    fn try_start(dir: &Path, port: u16, extra: &[&str]) -> Result<Self, String> {
        require_redis_server();
        std::fs::create_dir_all(dir).expect("create redis dir");
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            &dir.display().to_string(),
            "--logfile",
            "redis.log",
            "--daemonize",
            "no",
            "--save",
            "",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut guard = Command::new("sh")
            .arg("-c")
            .arg(GUARD)
            .arg("redis-guard")
            .arg(dir)
            .arg("1")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server guard");
        let mut line = String::new();
        BufReader::new(guard.stdout.take().expect("guard stdout"))
            .read_line(&mut line)
            .expect("read redis-server pid");
        let pid = line.trim().parse().expect("redis-server pid");
        let server = Self {
            port,
            dir: dir.to_owned(),
            pid,
            guard,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        let give_up = Instant::now() + READY_WITHIN;
        loop {
            if send_inline(port, "PING").is_ok_and(|reply| reply.starts_with("+PONG")) {
                return Ok(server);
            }
            if !server.running() {
                // Read before the guard removes the directory with the server.
                return Err(std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default());
            }
            assert!(
                Instant::now() < give_up,
                "redis on port {port} not ready (PING); see {}/redis.log",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the redis-server process still runs (its guard has not reaped
    /// it, so an exited server is a zombie).
    fn running(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).is_ok_and(|stat| {
            // The state follows the parenthesised command name.
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with(['Z', 'X']))
        })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server with SIGKILL (a crash); its data directory stays.
    pub fn kill(&mut self) {
        let status = Command::new("kill")
            .arg("-9")
            .arg(self.pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -9 {}", self.pid);
        let give_up = Instant::now() + READY_WITHIN;
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(
                Instant::now() < give_up,
                "redis still answers after kill -9"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Starts the server again (killing it first if it runs) on the same port
    /// and directory, so it reloads its data.
    pub fn restart(&mut self) {
        if let Some(mut stdin) = self.guard.stdin.take() {
            let _ = stdin.write_all(b"keep\n");
        }
        let _ = self.guard.wait();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        *self = Self::start(&self.dir, self.port, &extra);
    }

    /// Sends one inline command and returns the raw reply.
    pub fn command(&self, command: &str) -> String {
        send_inline(self.port, command).unwrap_or_else(|e| panic!("{command}: {e}"))
    }

    /// Repeats `command` until its reply satisfies `ready` (or panics after
    /// [`READY_WITHIN`]).
    pub fn wait_until(&self, ready: impl Fn(&str) -> bool, command: &str) {
        let give_up = Instant::now() + READY_WITHIN;
        loop {
            if let Ok(reply) = send_inline(self.port, command)
                && ready(&reply)
            {
                return;
            }
            assert!(
                Instant::now() < give_up,
                "redis on port {} not ready ({command}); see {}/redis.log",
                self.port,
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        drop(self.guard.stdin.take());
        let _ = self.guard.wait();
    }
}

/// Three primaries with one replica each.
#[derive(Debug)]
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start() -> Self {
        let nodes: Vec<RedisServer> = (0..6)
            .map(|i| {
                let bus = free_port().to_string();
                RedisServer::on_a_free_port(
                    &format!("cluster-{i}"),
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "2000",
                        "--cluster-port",
                        &bus,
                        "--appendonly",
                        "no",
                    ],
                )
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        for node in &nodes {
            node.wait_until(|reply| reply.contains("cluster_state:ok"), "CLUSTER INFO");
        }
        Self { nodes }
    }

    /// The port of the primary serving `slot` and, once attached, of its replica,
    /// as `CLUSTER NODES` on the first node reports them; waits (up to
    /// `READY_WITHIN`) while no healthy primary serves the slot, as during a
    /// failover.
    pub fn primary_and_replica(&self, slot: u16) -> (u16, Option<u16>) {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(found) = self.try_primary_and_replica(slot) {
                return found;
            }
            assert!(Instant::now() < deadline, "no primary serves slot {slot}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn try_primary_and_replica(&self, slot: u16) -> Option<(u16, Option<u16>)> {
        let nodes = self.nodes[0].command("CLUSTER NODES");
        let port_of = |address: &str| -> u16 {
            address
                .split(['@', ':'])
                .nth(1)
                .and_then(|p| p.parse().ok())
                .expect("node port")
        };
        let serves = |ranges: &[&str]| {
            ranges.iter().any(|r| {
                let (from, to) = r.split_once('-').unwrap_or((r, r));
                matches!((from.parse::<u16>(), to.parse::<u16>()), (Ok(f), Ok(t)) if (f..=t).contains(&slot))
            })
        };
        let lines: Vec<Vec<&str>> = nodes
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        let primary = lines.iter().find(|f| {
            f.len() > 8 && f[2].contains("master") && !f[2].contains("fail") && serves(&f[8..])
        })?;
        let replica = lines
            .iter()
            .find(|f| f.len() > 3 && f[2].contains("slave") && f[3] == primary[0])
            .map(|f| port_of(f[1]));
        Some((port_of(primary[1]), replica))
    }

    /// Waits until `slot`'s primary has a replica that finished its first sync
    /// (only such a replica can be promoted); returns both ports.
    pub fn primary_with_synced_replica(&self, slot: u16) -> (u16, u16) {
        let give_up = Instant::now() + Duration::from_secs(30);
        let (primary, replica) = loop {
            if let (primary, Some(replica)) = self.primary_and_replica(slot) {
                break (primary, replica);
            }
            assert!(
                Instant::now() < give_up,
                "no replica attached to the primary"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        self.nodes
            .iter()
            .find(|n| n.port == replica)
            .expect("replica node")
            .wait_until(
                |info| info.contains("master_link_status:up"),
                "INFO replication",
            );
        (primary, replica)
    }

    /// The hash slot of `key`.
    pub fn slot_of(&self, key: &str) -> u16 {
        self.nodes[0]
            .command(&format!("CLUSTER KEYSLOT {key}"))
            .trim()
            .trim_start_matches(':')
            .parse()
            .expect("slot")
    }

    pub fn seeds(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect()
    }
}

static STANDALONE: OnceLock<RedisServer> = OnceLock::new();
static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();

/// The standalone server shared by this test binary.
pub fn shared_standalone() -> &'static RedisServer {
    STANDALONE.get_or_init(|| RedisServer::standalone(&["--appendonly", "no"]))
}

/// The cluster shared by this test binary.
pub fn shared_cluster() -> &'static RedisCluster {
    CLUSTER.get_or_init(RedisCluster::start)
}

/// A key prefix no other test uses.
pub fn fresh_prefix() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "test{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Settings for `url` with a fresh prefix and short timeouts.
pub fn standalone_settings(url: String) -> RedisSettings {
    RedisSettings {
        key_prefix: fresh_prefix(),
        connect_timeout: Duration::from_millis(500),
        response_timeout: Duration::from_millis(2_000),
        ..RedisSettings::standalone(url)
    }
}

/// Fresh-prefixed storage on the shared standalone server.
pub async fn standalone_storage() -> RedisStorage {
    let settings = standalone_settings(shared_standalone().url());
    RedisStorage::connect(&settings)
        .await
        .expect("connect to standalone redis")
}

/// Fresh-prefixed storage on the shared cluster.
pub async fn cluster_storage() -> RedisStorage {
    let settings = RedisSettings {
        key_prefix: fresh_prefix(),
        ..RedisSettings::cluster(shared_cluster().seeds())
    };
    RedisStorage::connect(&settings)
        .await
        .expect("connect to redis cluster")
}

/// A port the kernel just handed out (and is free again), never a reserved one.
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind an ephemeral port")
            .port();
        if !RESERVED_PORTS.contains(&port) {
            return port;
        }
    }
}

fn fresh_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("pubsubgo-redis-{}-{name}", fresh_prefix()))
}

fn require_redis_server() {
    let found = Command::new("sh")
        .arg("-c")
        .arg("command -v redis-server && command -v redis-cli")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "redis-server and redis-cli are needed for the Redis storage tests: run `make verify` \
         (it installs them) or `apt-get install redis-server`"
    );
}

/// Sends an inline command over a fresh connection and reads the reply (a
/// status, error, integer or one bulk string).
fn send_inline(port: u16, command: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(format!("{command}\r\n").as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    if let Some(len) = first.strip_prefix('$') {
        let len: usize = len.trim().parse().unwrap_or(0);
        let mut body = vec![0; len + 2];
        reader.read_exact(&mut body)?;
        return Ok(String::from_utf8_lossy(&body).into_owned());
    }
    Ok(first)
}
