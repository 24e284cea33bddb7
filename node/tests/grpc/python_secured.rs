//! Google's official Python client against a real `pubsubgo-server` with TLS
//! and authentication on, connected as `docs/google-clients.md` shows (a
//! secure channel trusting the test CA, an API key as the access token):
//! `google_client_secured.py` beside this file.

use testkit::certs::TestCa;
use testkit::server_process::{DataDir, LOCAL, Server};

use crate::python_client::{client_python, run_script};
use crate::secured::{OPS_KEY, ORDERS_KEY, write_auth_files};

#[test_log::test(tokio::test)]
async fn googles_python_client_connects_over_tls_with_a_token() {
    let python = client_python();
    tracing::info!("arrange: a server with TLS (a test CA's certificate) and API keys");
    let ca = TestCa::new("gRPC CA");
    let pair = ca.server_cert("server");
    let dir = tempfile::tempdir().expect("temporary directory");
    let (keys, policy) = write_auth_files(&dir);
    let data = DataDir::new("google-python-secured");
    let paths = [&pair.cert, &pair.key, &keys, &policy].map(|p| p.to_string_lossy().into_owned());
    let mut args = LOCAL.to_vec();
    args.extend([
        "--tls-cert-file",
        &paths[0],
        "--tls-key-file",
        &paths[1],
        "--auth-enabled",
        "true",
        "--auth-api-keys-file",
        &paths[2],
        "--auth-policy-file",
        &paths[3],
    ]);
    let server = Server::start_in(&data, &args, &[]);
    let listening = server.wait_for_log("pubsubgo-server listening");
    let port = listening["grpc"]
        .as_str()
        .and_then(|a| a.rsplit_once(':'))
        .map(|(_, port)| port.to_owned())
        .expect("the gRPC address");
    server.wait_for_log("node started");

    tracing::info!("act: the script, over TLS to localhost:{port}");
    let grpc = format!("localhost:{port}");
    let ca_file = ca.ca_file.to_string_lossy().into_owned();
    let env = [
        ("PUBSUBGO_GRPC", grpc.as_str()),
        ("PUBSUBGO_CA_FILE", ca_file.as_str()),
        ("PUBSUBGO_TOKEN", OPS_KEY),
        ("PUBSUBGO_OTHER_TOKEN", ORDERS_KEY),
    ];
    let status = run_script(&python, "google_client_secured.py", &env).await;

    tracing::info!("assert: every check of the script passed");
    assert!(
        status.success(),
        "google_client_secured.py failed ({status}); its output is above"
    );
}
