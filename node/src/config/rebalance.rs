//! [`RebalanceSettings`]: how partitions return to their rendezvous owners
//! without an operator after a node joins or comes back
//! ([`crate::routing::rebalancer`]).
//!
//! ```yaml
//! rebalance:
//!   auto: true              # false: only `pubsub-cli cluster rebalance` moves partitions to a returning node
//!   moves_per_second: 20    # at most this many partitions change owner per second
//!   cooldown_seconds: 30    # a partition that changed owner stays put this long
//! ```

use std::time::Duration;

use clap::Args;
use serde::Deserialize;

use super::error::ConfigError;

/// Partitions moved per second when none is set.
pub const DEFAULT_MOVES_PER_SECOND: u32 = 20;
/// How long a partition that changed owner stays put when none is set.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);

/// The resolved automatic rebalance settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebalanceSettings {
    /// Move partitions to their rendezvous owners without an operator.
    pub auto: bool,
    /// The most partitions the leader moves in one second.
    pub moves_per_second: u32,
    /// A partition is not moved again until this long after it last changed
    /// owner (for any reason: a failover, a drain, a manual rebalance).
    pub cooldown: Duration,
}

impl Default for RebalanceSettings {
    fn default() -> Self {
        Self {
            auto: true,
            moves_per_second: DEFAULT_MOVES_PER_SECOND,
            cooldown: DEFAULT_COOLDOWN,
        }
    }
}

/// The rebalance flags, each with its environment variable.
#[derive(Debug, Clone, Default, Args)]
pub struct RebalanceArgs {
    /// Move partitions to their rendezvous owners when a node joins or comes back [default: true].
    #[arg(long, env = "PUBSUB_REBALANCE_AUTO")]
    pub rebalance_auto: Option<bool>,
    /// Most partitions the automatic rebalance moves per second [default: 20].
    #[arg(long, env = "PUBSUB_REBALANCE_MOVES_PER_SECOND")]
    pub rebalance_moves_per_second: Option<u32>,
    /// Seconds a partition that changed owner is not moved again [default: 30].
    #[arg(long, env = "PUBSUB_REBALANCE_COOLDOWN_SECONDS")]
    pub rebalance_cooldown_seconds: Option<u64>,
}

/// `rebalance:` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RebalanceSection {
    auto: Option<bool>,
    moves_per_second: Option<u32>,
    cooldown_seconds: Option<u64>,
}

impl RebalanceSettings {
    /// Flags (with the environment) over the file over the defaults.
    pub fn resolve(args: &RebalanceArgs, file: RebalanceSection) -> Result<Self, ConfigError> {
        let moves_per_second = args
            .rebalance_moves_per_second
            .or(file.moves_per_second)
            .unwrap_or(DEFAULT_MOVES_PER_SECOND);
        if moves_per_second == 0 {
            return Err(ConfigError::Invalid(
                "rebalance moves per second must be at least 1 (turn the automatic rebalance \
                 off with PUBSUB_REBALANCE_AUTO=false instead)"
                    .to_owned(),
            ));
        }
        Ok(Self {
            auto: args.rebalance_auto.or(file.auto).unwrap_or(true),
            moves_per_second,
            cooldown: args
                .rebalance_cooldown_seconds
                .or(file.cooldown_seconds)
                .map_or(DEFAULT_COOLDOWN, Duration::from_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_over_the_file_over_defaults_and_zero_moves_refused() {
        let defaults =
            RebalanceSettings::resolve(&RebalanceArgs::default(), RebalanceSection::default());
        assert_eq!(defaults.expect("valid"), RebalanceSettings::default());
        let file = RebalanceSection {
            auto: Some(false),
            moves_per_second: Some(5),
            cooldown_seconds: Some(3),
        };
        let args = RebalanceArgs {
            rebalance_moves_per_second: Some(7),
            ..RebalanceArgs::default()
        };
        let resolved = RebalanceSettings::resolve(&args, file).expect("valid");
        assert_eq!(
            resolved,
            RebalanceSettings {
                auto: false,
                moves_per_second: 7,
                cooldown: Duration::from_secs(3),
            }
        );
        let zero = RebalanceArgs {
            rebalance_moves_per_second: Some(0),
            ..RebalanceArgs::default()
        };
        assert!(RebalanceSettings::resolve(&zero, RebalanceSection::default()).is_err());
    }
}
