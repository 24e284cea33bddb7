//! `groups list|describe|join`: consumer groups, which are the subscriptions of type
//! `partitioned`.
//!
//! `list` and `describe` read the subscription resource: its `group` (generation,
//! members and their partitions) and its `stats` (backlog per partition). The list
//! endpoint carries neither, so `list` gets each partitioned subscription alone.
//! `join`, a member's whole session, is in [`join`].

mod join;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use api::ErrorCode;
use api::timestamp::Timestamp;
use api::types::{
    ConsumerGroup, GroupMember, ListSubscriptionsResponse, PartitionBacklog, Subscription,
    SubscriptionType,
};
use futures::{StreamExt as _, TryStreamExt as _};

use super::{Context, all_subscriptions};
use crate::args::{Format, GroupsCommand, ListArgs};
use crate::output::{TextTable, age_text, print_json, print_text};

/// Subscriptions `groups list` fetches at once.
const CONCURRENT_GETS: usize = 8;

pub async fn run(ctx: &Context, command: GroupsCommand) -> anyhow::Result<()> {
    match command {
        GroupsCommand::List(args) => list(ctx, args).await,
        GroupsCommand::Describe(args) => describe(ctx, &args.subscription).await,
        GroupsCommand::Join(args) => join::run(ctx, args).await,
    }
}

async fn list(ctx: &Context, args: ListArgs) -> anyhow::Result<()> {
    let subscriptions = all_subscriptions(ctx, args.page_size).await?;
    let names = subscriptions
        .into_iter()
        .filter(|s| s.kind == SubscriptionType::Partitioned)
        .map(|s| s.name);
    // `buffered` keeps the list's order.
    let fetched: Vec<Option<Subscription>> = futures::stream::iter(names)
        .map(|name| get_listed(ctx, name))
        .buffered(CONCURRENT_GETS)
        .try_collect()
        .await?;
    let groups: Vec<Subscription> = fetched.into_iter().flatten().collect();
    match ctx.format {
        Format::Json => print_json(&ListSubscriptionsResponse {
            subscriptions: groups,
            next_page_token: None,
        }),
        Format::Table if groups.is_empty() => {
            print_text(
                "no consumer groups (create one with `subscriptions create NAME --topic TOPIC \
                 --type partitioned`)",
            );
            Ok(())
        }
        Format::Table => {
            print_text(&groups_table(&groups));
            Ok(())
        }
    }
}

/// A listed subscription with its group and stats; `None` when it was deleted after
/// the list was read.
async fn get_listed(ctx: &Context, name: String) -> anyhow::Result<Option<Subscription>> {
    match ctx.client.get_subscription(&name).await {
        Ok(subscription) => Ok(Some(subscription)),
        Err(error)
            if error
                .problem()
                .is_some_and(|p| p.code == ErrorCode::SubscriptionNotFound) =>
        {
            Ok(None)
        }
        Err(error) => Err(anyhow::Error::new(error).context(format!("getting {name}"))),
    }
}

async fn describe(ctx: &Context, name: &str) -> anyhow::Result<()> {
    let subscription = ctx.client.get_subscription(name).await?;
    if subscription.kind != SubscriptionType::Partitioned {
        anyhow::bail!(
            "subscription {name} is shared, so it has no consumer group; groups are the \
             subscriptions created with --type partitioned"
        );
    }
    match ctx.format {
        Format::Json => print_json(&subscription),
        Format::Table => {
            print_text(&group_text(&subscription, now()));
            Ok(())
        }
    }
}

fn now() -> Timestamp {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
}

/// A group before its first join: generation 0, nobody in it.
fn group_of(s: &Subscription) -> ConsumerGroup {
    s.group.clone().unwrap_or(ConsumerGroup {
        generation: 0,
        members: Vec::new(),
    })
}

fn groups_table(groups: &[Subscription]) -> String {
    let mut table = TextTable::new(&["name", "topic", "generation", "members", "backlog"]);
    for s in groups {
        let group = group_of(s);
        table.row(vec![
            TextTable::text(&s.name),
            TextTable::text(&s.topic),
            TextTable::number(group.generation),
            TextTable::number(group.members.len()),
            TextTable::number(
                s.stats
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |st| st.backlog_messages.to_string()),
            ),
        ]);
    }
    table.render()
}

/// What `groups describe` prints, in the manner of `kafka-consumer-groups --describe`:
/// a summary line, the owner and lag of each partition, then the members.
/// `now` dates the last heartbeats.
fn group_text(s: &Subscription, now: Timestamp) -> String {
    let group = group_of(s);
    format!(
        "{}\n\n{}\n\n{}",
        summary_line(s, &group),
        partitions_table(s, &group),
        members_text(&group.members, now)
    )
}

fn summary_line(s: &Subscription, group: &ConsumerGroup) -> String {
    let members = match group.members.len() {
        0 => "no members".to_owned(),
        1 => "1 member".to_owned(),
        n => format!("{n} members"),
    };
    let lag = match &s.stats {
        None => "lag unknown".to_owned(),
        Some(stats) => {
            let mut lag = format!(
                "total lag {} {}",
                stats.backlog_messages,
                if stats.backlog_messages == 1 {
                    "message"
                } else {
                    "messages"
                }
            );
            if let Some(age) = stats.oldest_unacked_age_seconds {
                lag.push_str(&format!(", oldest unacked {}", age_text(Some(age))));
            }
            lag
        }
    };
    format!(
        "subscription {} on topic {}: generation {}, {members}, {lag}",
        s.name, s.topic, group.generation
    )
}

/// One row per partition: the partitions the stats list, plus any a member holds that
/// they do not (so an owner is never hidden). `-` marks no owner or no figure.
fn partitions_table(s: &Subscription, group: &ConsumerGroup) -> String {
    let owners: BTreeMap<u32, &str> = group
        .members
        .iter()
        .flat_map(|m| m.partitions.iter().map(|p| (*p, m.member_id.as_str())))
        .collect();
    let backlogs: BTreeMap<u32, &PartitionBacklog> = s
        .stats
        .iter()
        .flat_map(|stats| &stats.partitions)
        .map(|p| (p.partition, p))
        .collect();
    let partitions: BTreeSet<u32> = owners.keys().chain(backlogs.keys()).copied().collect();
    let mut table = TextTable::new(&[
        "partition",
        "member",
        "backlog",
        "outstanding",
        "oldest unacked",
    ]);
    for partition in partitions {
        let backlog = backlogs.get(&partition);
        let figure = |value: fn(&PartitionBacklog) -> u64| {
            backlog.map_or_else(|| "-".to_owned(), |b| value(b).to_string())
        };
        table.row(vec![
            TextTable::number(partition),
            TextTable::text(owners.get(&partition).copied().unwrap_or("-")),
            TextTable::number(figure(|b| b.backlog_messages)),
            TextTable::number(figure(|b| b.outstanding_messages)),
            TextTable::number(age_text(backlog.and_then(|b| b.oldest_unacked_age_seconds))),
        ]);
    }
    table.render()
}

fn members_text(members: &[GroupMember], now: Timestamp) -> String {
    if members.is_empty() {
        return "no members".to_owned();
    }
    let mut table = TextTable::new(&["member", "partitions", "last heartbeat", "session timeout"]);
    for m in members {
        table.row(vec![
            TextTable::text(&m.member_id),
            TextTable::text(partition_list(&m.partitions)),
            TextTable::text(heartbeat_text(&m.last_heartbeat_time, now)),
            TextTable::number(format!("{}s", m.session_timeout_seconds)),
        ]);
    }
    table.render()
}

/// `0,1,2`; a member without partitions stands by for one to free up.
fn partition_list(partitions: &[u32]) -> String {
    if partitions.is_empty() {
        return "none (standby)".to_owned();
    }
    partitions
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The server's time and how long ago it was; a clock ahead of ours counts as 0s ago.
fn heartbeat_text(time: &str, now: Timestamp) -> String {
    match time.parse::<Timestamp>() {
        Ok(at) => format!("{time} ({}s ago)", now.0.saturating_sub(at.0) / 1000),
        Err(_) => time.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use api::types::SubscriptionStats;

    use super::*;

    /// 4 partitions: m-a holds 0 and 1, m-b holds 2 and 3, m-c stands by.
    fn sample() -> Subscription {
        let member = |id: &str, partitions: Vec<u32>, heartbeat: &str| GroupMember {
            member_id: id.to_owned(),
            partitions,
            last_heartbeat_time: heartbeat.to_owned(),
            session_timeout_seconds: 30,
        };
        let backlog = |partition, backlog, outstanding, oldest| PartitionBacklog {
            partition,
            backlog_messages: backlog,
            outstanding_messages: outstanding,
            oldest_unacked_age_seconds: oldest,
        };
        Subscription {
            name: "shards".to_owned(),
            topic: "orders".to_owned(),
            kind: SubscriptionType::Partitioned,
            ack_deadline_seconds: 10,
            enable_message_ordering: false,
            start_position: Default::default(),
            retry_policy: None,
            dead_letter_policy: None,
            delivery_mode: Default::default(),
            push_config: None,
            create_time: "2026-11-25T17:00:00.000Z".to_owned(),
            stats: Some(SubscriptionStats {
                backlog_messages: 12,
                outstanding_messages: 2,
                oldest_unacked_age_seconds: Some(42.5),
                expired_messages: 0,
                dead_lettered_messages: 0,
                parked_ordering_keys: Vec::new(),
                partitions: vec![
                    backlog(0, 10, 2, Some(42.5)),
                    backlog(1, 0, 0, None),
                    backlog(2, 2, 0, Some(3.0)),
                    backlog(3, 0, 0, None),
                ],
            }),
            group: Some(ConsumerGroup {
                generation: 3,
                members: vec![
                    member("m-a", vec![0, 1], "2026-11-25T17:42:00.000Z"),
                    member("m-b", vec![2, 3], "2026-11-25T17:41:55.500Z"),
                    member("m-c", Vec::new(), "2026-11-25T17:42:01.000Z"),
                ],
            }),
        }
    }

    fn at(time: &str) -> Timestamp {
        time.parse().expect("a valid time")
    }

    #[test]
    fn describe_shows_a_summary_then_owner_and_lag_per_partition_then_members() {
        let text = group_text(&sample(), at("2026-11-25T17:42:02.000Z"));
        assert_eq!(
            text,
            "subscription shards on topic orders: generation 3, 3 members, \
             total lag 12 messages, oldest unacked 42.5s\n\
             \n\
             PARTITION  MEMBER  BACKLOG  OUTSTANDING  OLDEST UNACKED\n\
             \x20       0  m-a          10            2           42.5s\n\
             \x20       1  m-a           0            0               -\n\
             \x20       2  m-b           2            0            3.0s\n\
             \x20       3  m-b           0            0               -\n\
             \n\
             MEMBER  PARTITIONS      LAST HEARTBEAT                     SESSION TIMEOUT\n\
             m-a     0,1             2026-11-25T17:42:00.000Z (2s ago)              30s\n\
             m-b     2,3             2026-11-25T17:41:55.500Z (6s ago)              30s\n\
             m-c     none (standby)  2026-11-25T17:42:01.000Z (1s ago)              30s"
        );
    }

    #[test]
    fn describe_of_a_group_nobody_joined_has_unowned_partitions_and_no_members() {
        let mut s = sample();
        s.group = None;
        if let Some(stats) = &mut s.stats {
            stats.backlog_messages = 1;
            stats.oldest_unacked_age_seconds = None;
        }
        let text = group_text(&s, at("2026-11-25T17:42:02.000Z"));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "subscription shards on topic orders: generation 0, no members, total lag 1 message"
        );
        let owners: Vec<&str> = lines[3..7]
            .iter()
            .filter_map(|row| row.split_whitespace().nth(1))
            .collect();
        assert_eq!(owners, ["-"; 4], "{text}");
        assert_eq!(lines.last(), Some(&"no members"), "{text}");
    }

    #[test]
    fn describe_lists_an_owned_partition_the_stats_lack() {
        let mut s = sample();
        s.stats = None;
        let text = group_text(&s, at("2026-11-25T17:42:02.000Z"));
        assert!(
            text.starts_with(
                "subscription shards on topic orders: generation 3, 3 members, lag unknown\n"
            ),
            "{text}"
        );
        let row: Vec<&str> = text
            .lines()
            .nth(3)
            .map(|row| row.split_whitespace().collect())
            .unwrap_or_default();
        assert_eq!(row, ["0", "m-a", "-", "-", "-"], "{text}");
    }

    #[test]
    fn heartbeats_show_their_age_and_odd_times_as_sent() {
        let now = at("2026-11-25T17:42:10.000Z");
        assert_eq!(
            heartbeat_text("2026-11-25T17:42:00.000Z", now),
            "2026-11-25T17:42:00.000Z (10s ago)"
        );
        assert_eq!(
            heartbeat_text("2026-11-25T17:43:00.000Z", now),
            "2026-11-25T17:43:00.000Z (0s ago)",
            "a server clock ahead of ours"
        );
        assert_eq!(heartbeat_text("yesterday", now), "yesterday");
    }

    #[test]
    fn list_has_a_row_per_group() {
        let mut idle = sample();
        idle.name = "audit".to_owned();
        idle.group = None;
        idle.stats = None;
        let text = groups_table(&[sample(), idle]);
        assert_eq!(
            text,
            "NAME    TOPIC   GENERATION  MEMBERS  BACKLOG\n\
             shards  orders           3        3       12\n\
             audit   orders           0        0        -"
        );
    }
}
