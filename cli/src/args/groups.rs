//! `groups list|describe|join`: consumer groups, which are the subscriptions of type
//! `partitioned`.
//!
//! The session timeout's bounds (6 to 300 s) are the server's to check: `api` does not
//! publish them as limits, and a copy here could drift from the broker's.

use clap::{Args, Subcommand};

use super::list::ListArgs;

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List every consumer group with its topic, generation, members and backlog.
    List(ListArgs),
    /// Show a group's lag and owner per partition, and its members.
    Describe(DescribeGroupArgs),
    /// Join a group and consume as a member until Ctrl-C or --max-messages, then leave.
    Join(JoinGroupArgs),
}

#[derive(Debug, Args)]
pub struct DescribeGroupArgs {
    /// The partitioned subscription whose group to show.
    pub subscription: String,
}

#[derive(Debug, Args)]
pub struct JoinGroupArgs {
    /// The partitioned subscription whose group to join.
    pub subscription: String,
    /// Seconds without a heartbeat after which the broker removes the member and gives
    /// its partitions to the others (6 to 300; the server's default is 30). Heartbeats
    /// go every third of it.
    #[arg(long, value_name = "SECONDS")]
    pub session_timeout: Option<u32>,
    /// Leave the group after this many messages.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_messages: Option<u64>,
    /// Print messages without acknowledging them; they are redelivered after their deadline.
    #[arg(long)]
    pub no_ack: bool,
}
