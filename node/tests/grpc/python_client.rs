//! Google's official Python client (`google-cloud-pubsub`, pinned in
//! `tests/tools/google-client-requirements.txt`), unchanged, against a real
//! `pubsubgo-server` process: `google_client.py` beside this file runs with
//! `PUBSUB_EMULATOR_HOST` set to the server's gRPC address, as a team
//! developing against Google's emulator would run it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use testkit::server_process::{DataDir, Server};

/// Longest the script may take; it normally takes a few seconds.
const SCRIPT_LIMIT: Duration = Duration::from_secs(120);
/// Longest the server may take to become ready.
const READY_LIMIT: Duration = Duration::from_secs(30);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The python of a virtual environment with the client installed (on first
/// use from PyPI, by `tests/tools/ensure-google-client`).
pub fn client_python() -> PathBuf {
    let output = std::process::Command::new(repo().join("tests/tools/ensure-google-client"))
        .stderr(Stdio::inherit())
        .output()
        .expect("tests/tools/ensure-google-client runs");
    assert!(
        output.status.success(),
        "tests/tools/ensure-google-client could not install google-cloud-pubsub (its output is above); \
         this test needs Python 3.9+ with venv and access to PyPI"
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// Starts the binary with the gRPC listener on (on a free port, as
/// `Server::command` sets it); returns
/// the server, its REST client and its gRPC address.
fn start(data: &DataDir) -> (Server, api::Client, String) {
    let mut command = Server::command();
    command
        .args(["--log-format", "json", "--host", "127.0.0.1", "--port", "0"])
        .args(["--peer-port", "0", "--metrics-enabled", "false"])
        .args(["--grpc-enabled", "true", "--data-dir"])
        .arg(&data.0)
        .env_remove("PUBSUB_CONFIG")
        .env_remove("PUBSUB_STORAGE");
    let server = Server::spawn(command);
    let listening = server.wait_for_log("pubsubgo-server listening");
    let address = |field: &str| {
        listening[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} address in {listening}"))
            .to_owned()
    };
    let api =
        api::Client::new(&format!("http://{}", address("client")), READY_LIMIT).expect("client");
    (server, api, address("grpc"))
}

#[test_log::test(tokio::test)]
async fn googles_python_client_runs_unchanged_against_a_real_server() {
    let python = client_python();
    let data = DataDir::new("google-python-client");
    let (_server, api, grpc) = start(&data);
    tracing::info!(%grpc, "arrange: wait until the node is ready");
    tokio::time::timeout(READY_LIMIT, async {
        while api.ready().await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the server is ready in time");

    tracing::info!("act: the client's script, with PUBSUB_EMULATOR_HOST set");
    let env = [("PUBSUB_EMULATOR_HOST", grpc.as_str())];
    let status = run_script(&python, "google_client.py", &env).await;

    tracing::info!("assert: every check of the script passed");
    assert!(
        status.success(),
        "google_client.py failed ({status}); its output is above"
    );
}

/// Runs `script` (beside this file) with `python` and `env` (nothing else
/// of the caller's `PUBSUB_EMULATOR_HOST`); answers its exit status (its
/// output goes to the test's).
pub async fn run_script(
    python: &Path,
    script: &str,
    env: &[(&str, &str)],
) -> std::process::ExitStatus {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/grpc")
        .join(script);
    let mut child = tokio::process::Command::new(python)
        .arg(script)
        .env_remove("PUBSUB_EMULATOR_HOST")
        .env("PUBSUB_PROJECT_ID", "pubsubgo-test")
        .envs(env.iter().copied())
        .kill_on_drop(true)
        .spawn()
        .expect("python starts");
    tokio::time::timeout(SCRIPT_LIMIT, child.wait())
        .await
        .expect("the script ends in time")
        .expect("python runs")
}
