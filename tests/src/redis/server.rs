//! One `redis-server` process under a guard that ends it with this test
//! process (see the module docs of [`crate::redis`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{READY_WITHIN, free_port, fresh_prefix};

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
    pub(super) fn on_a_free_port(name: &str, extra: &[&str]) -> Self {
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
    /// `READY_WITHIN`).
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
