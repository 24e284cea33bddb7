//! The binary as these tests start it (`Server::start_in` on loopback ports
//! the kernel hands out, no metrics port), and a client sending a token.

use std::time::Duration;

use api::{Client, ClientOptions};
use testkit::server_process::{DataDir, LOCAL, Server};

/// How long a client waits for an answer.
pub const WAIT: Duration = Duration::from_secs(30);

/// Starts the binary on `data_dir` with `args`.
pub fn start(data_dir: &DataDir, args: &[&str]) -> Server {
    start_env(data_dir, args, &[])
}

/// Like [`start`], with `env` set too.
pub fn start_env(data_dir: &DataDir, args: &[&str], env: &[(&str, String)]) -> Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start_in(data_dir, &[&LOCAL[..], args].concat(), &env)
}

/// A client of `base` sending `token`.
pub fn client_with_token(base: &str, token: Option<&str>) -> Client {
    let options = ClientOptions {
        token: token.map(str::to_owned),
        ..ClientOptions::new(WAIT)
    };
    Client::with_options(base, &options).expect("client")
}
