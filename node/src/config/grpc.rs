//! The listener of Google Pub/Sub's gRPC API ([`crate::grpc`]), on port 8085
//! as Google's emulator, on by default. It has the client port's TLS,
//! authentication and rate limits (`crate::config::security`), so turning
//! those on covers both ports.
//!
//! ```yaml
//! grpc: { enabled: true, port: 8085 }
//! ```

use std::net::{IpAddr, SocketAddr};

use clap::Args;
use serde::Deserialize;

use super::error::ConfigError;

/// The port when none is set: the one Google's emulator listens on, where
/// `PUBSUB_EMULATOR_HOST=localhost:8085` users already point their clients.
pub const DEFAULT_GRPC_PORT: u16 = 8085;

/// The gRPC flags, each with its environment variable.
#[derive(Debug, Clone, Default, Args)]
pub struct GrpcArgs {
    /// Serve Google Pub/Sub's gRPC API [default: true].
    #[arg(long, env = "PUBSUB_GRPC_ENABLED")]
    pub grpc_enabled: Option<bool>,
    /// Google Pub/Sub gRPC port [default: 8085].
    #[arg(long, env = "PUBSUB_GRPC_PORT")]
    pub grpc_port: Option<u16>,
}

/// `grpc:` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcSection {
    enabled: Option<bool>,
    port: Option<u16>,
}

/// The listener's address on `host`, `None` when it is off. `taken` are the
/// other listeners' ports (`None` for one that is off).
pub fn grpc_addr(
    args: &GrpcArgs,
    file: GrpcSection,
    host: IpAddr,
    taken: &[Option<u16>],
) -> Result<Option<SocketAddr>, ConfigError> {
    if !args.grpc_enabled.or(file.enabled).unwrap_or(true) {
        return Ok(None);
    }
    let port = args.grpc_port.or(file.port).unwrap_or(DEFAULT_GRPC_PORT);
    if port != 0 && taken.contains(&Some(port)) {
        return Err(ConfigError::Invalid(format!(
            "the gRPC port {port} is also the client or metrics port; choose different ports"
        )));
    }
    Ok(Some(SocketAddr::new(host, port)))
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const HOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn on_at_8085_unless_turned_off_and_never_on_another_listeners_port() {
        let default = grpc_addr(&GrpcArgs::default(), GrpcSection::default(), HOST, &[]);
        assert_eq!(default.expect("valid"), Some(SocketAddr::new(HOST, 8085)));
        let off = GrpcArgs {
            grpc_enabled: Some(false),
            ..GrpcArgs::default()
        };
        assert_eq!(
            grpc_addr(&off, GrpcSection::default(), HOST, &[]).expect("valid"),
            None
        );
        let clash = GrpcArgs {
            grpc_port: Some(9092),
            ..GrpcArgs::default()
        };
        assert!(grpc_addr(&clash, GrpcSection::default(), HOST, &[Some(9092)]).is_err());
        assert!(grpc_addr(&clash, GrpcSection::default(), HOST, &[None]).is_ok());
    }
}
