//! `cluster status|rebalance|remove-node`.
//!
//! `status` prints the metadata group in the shape of `etcdctl endpoint status
//! -w table`, then the nodes (`NODE  PEER ADDRESS  LIVE  VOTER  PARTITIONS`);
//! each partition's owner and epoch only with `--owners`, since a cluster has
//! hundreds of partitions and the nodes table already counts them (`--format
//! json` prints everything), then what is moving (`moving`). An unhealthy
//! cluster (no leader, behind, or a node not live) is exit code 10, like `rpk
//! cluster health`.
//!
//! `rebalance` and `remove-node` print each partition move
//! (`TOPIC  PARTITION  FROM  TO  EPOCH`); `rebalance` ends with a summary line
//! `moved X of Y partitions (Z%)`, and `--dry-run` (like `redis-cli --cluster
//! rebalance --cluster-simulate`) prints the plan and moves nothing.

use api::types::{
    ClusterNodeStatus, ClusterStatus, NodeRole, PartitionMoveStatus, PartitionOwnerStatus,
    RebalanceResponse, RemoveNodeResponse,
};

use super::Context;
use crate::args::{ClusterCommand, Format};
use crate::failure::ClusterUnhealthy;
use crate::output::{TextTable, print_json, print_text};

pub async fn run(ctx: &Context, command: ClusterCommand) -> anyhow::Result<()> {
    match command {
        ClusterCommand::Status(args) => status(ctx, args.owners).await,
        ClusterCommand::Rebalance(args) => rebalance(ctx, args.dry_run).await,
        ClusterCommand::RemoveNode(args) => remove_node(ctx, args.id).await,
    }
}

async fn status(ctx: &Context, owners: bool) -> anyhow::Result<()> {
    let status = ctx.client.cluster_status().await?;
    match ctx.format {
        Format::Json => print_json(&status)?,
        Format::Table => print_text(&status_text(&status, owners)),
    }
    match unhealthy_reason(&status) {
        None => Ok(()),
        Some(reason) => Err(ClusterUnhealthy { reason }.into()),
    }
}

async fn rebalance(ctx: &Context, dry_run: bool) -> anyhow::Result<()> {
    let answer = ctx.client.rebalance(dry_run).await?;
    match ctx.format {
        Format::Json => print_json(&answer)?,
        Format::Table => print_text(&rebalance_text(&answer)),
    }
    Ok(())
}

async fn remove_node(ctx: &Context, id: u64) -> anyhow::Result<()> {
    let answer = ctx.client.remove_node(id).await?;
    match ctx.format {
        Format::Json => print_json(&answer)?,
        Format::Table => print_text(&remove_node_text(&answer)),
    }
    Ok(())
}

/// Why the cluster is unhealthy, if it is: the server's reason (no leader,
/// behind), and which nodes are not live.
fn unhealthy_reason(s: &ClusterStatus) -> Option<String> {
    let mut reasons = Vec::new();
    if !s.healthy {
        reasons.push(
            s.reason
                .clone()
                .unwrap_or_else(|| "no reason given".to_owned()),
        );
    }
    let down: Vec<String> = s
        .nodes
        .iter()
        .filter(|n| !n.live)
        .map(|n| n.id.to_string())
        .collect();
    match down.as_slice() {
        [] => {}
        [one] => reasons.push(format!("node {one} is not live")),
        many => reasons.push(format!("nodes {} are not live", many.join(", "))),
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// The group table, the nodes table, the owners table when asked for, and the
/// reason the cluster is unhealthy, each apart.
fn status_text(s: &ClusterStatus, with_owners: bool) -> String {
    let mut text = group_table(s);
    if s.role == NodeRole::Standalone {
        text.push_str("\nmetadata is applied in-process on this server (no consensus group)");
    }
    if !s.nodes.is_empty() {
        text.push_str("\n\n");
        text.push_str(&nodes_table(&s.nodes));
    }
    if !s.partitions.is_empty() {
        text.push_str("\n\n");
        if with_owners {
            text.push_str(&owners_table(&s.partitions));
        } else {
            text.push_str(&format!(
                "{} partitions; list their owners with --owners",
                s.partitions.len()
            ));
        }
    }
    if let Some(rebalance) = &s.rebalance {
        text.push_str("\n\n");
        text.push_str(&super::moving::moving_text(rebalance, now_millis()));
    }
    if let Some(reason) = unhealthy_reason(s) {
        text.push_str(&format!("\nunhealthy: {reason}"));
    }
    text
}

fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn group_table(s: &ClusterStatus) -> String {
    let index = |i: Option<u64>| i.map_or_else(|| "-".to_owned(), |i| i.to_string());
    let ids = |ids: &[u64]| {
        if ids.is_empty() {
            "-".to_owned()
        } else {
            ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
        }
    };
    let mut table = TextTable::new(&[
        "node", "role", "leader", "term", "last log", "commit", "applied", "voters", "learners",
        "healthy",
    ]);
    table.row(vec![
        TextTable::number(s.node_id),
        TextTable::text(role_text(s.role)),
        TextTable::text(
            s.leader
                .map_or_else(|| "none".to_owned(), |l| l.to_string()),
        ),
        TextTable::number(s.term),
        TextTable::number(index(s.last_log_index)),
        TextTable::number(index(s.commit_index)),
        TextTable::number(index(s.applied_index)),
        TextTable::text(ids(&s.voters)),
        TextTable::text(ids(&s.learners)),
        TextTable::text(yes_no(s.healthy)),
    ]);
    table.render()
}

fn nodes_table(nodes: &[ClusterNodeStatus]) -> String {
    let mut table = TextTable::new(&["node", "peer address", "live", "voter", "partitions"]);
    for node in nodes {
        table.row(vec![
            TextTable::number(node.id),
            TextTable::text(&node.peer_addr),
            TextTable::text(yes_no(node.live)),
            TextTable::text(yes_no(node.voter)),
            TextTable::number(node.partitions),
        ]);
    }
    table.render()
}

fn owners_table(partitions: &[PartitionOwnerStatus]) -> String {
    let dash = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let mut table = TextTable::new(&["topic", "partition", "owner", "epoch"]);
    for p in partitions {
        table.row(vec![
            TextTable::text(&p.topic),
            TextTable::number(p.partition),
            TextTable::number(dash(p.node)),
            TextTable::number(dash(p.epoch)),
        ]);
    }
    table.render()
}

fn moves_table(moves: &[PartitionMoveStatus]) -> String {
    let mut table = TextTable::new(&["topic", "partition", "from", "to", "epoch"]);
    for m in moves {
        table.row(vec![
            TextTable::text(&m.topic),
            TextTable::number(m.partition),
            TextTable::number(m.from.map_or_else(|| "-".to_owned(), |f| f.to_string())),
            TextTable::number(m.to),
            TextTable::number(m.epoch),
        ]);
    }
    table.render()
}

/// The moves, then `moved X of Y partitions (Z%)`; a dry run says it would.
fn rebalance_text(r: &RebalanceResponse) -> String {
    let moved = r.moves.len() as u64;
    let share = percent(moved, r.partitions);
    let summary = if r.dry_run {
        format!(
            "dry run: would move {moved} of {} partitions ({share}); nothing was changed",
            r.partitions
        )
    } else {
        format!("moved {moved} of {} partitions ({share})", r.partitions)
    };
    with_moves(&r.moves, summary)
}

fn remove_node_text(r: &RemoveNodeResponse) -> String {
    let summary = match r.moves.len() {
        0 => format!("removed node {}; it owned no partitions", r.node_id),
        1 => format!("removed node {}; moved its 1 partition", r.node_id),
        n => format!("removed node {}; moved its {n} partitions", r.node_id),
    };
    with_moves(&r.moves, summary)
}

fn with_moves(moves: &[PartitionMoveStatus], summary: String) -> String {
    if moves.is_empty() {
        summary
    } else {
        format!("{}\n\n{summary}", moves_table(moves))
    }
}

/// `part` of `whole` as a whole percentage; never rounds a partial share to
/// `0%` or `100%`.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0%".to_owned();
    }
    let rounded = (part * 100 + whole / 2) / whole;
    match rounded {
        0 if part > 0 => "<1%".to_owned(),
        100 if part < whole => ">99%".to_owned(),
        p => format!("{p}%"),
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn role_text(role: NodeRole) -> &'static str {
    match role {
        NodeRole::Leader => "leader",
        NodeRole::Follower => "follower",
        NodeRole::Candidate => "candidate",
        NodeRole::Learner => "learner",
        NodeRole::Shutdown => "shutdown",
        NodeRole::Standalone => "standalone",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u64, live: bool, partitions: u32) -> ClusterNodeStatus {
        ClusterNodeStatus {
            id,
            peer_addr: format!("pubsubgo-{id}.pubsubgo-headless:8082"),
            live,
            voter: true,
            partitions,
        }
    }

    fn sample(healthy: bool) -> ClusterStatus {
        ClusterStatus {
            node_id: 0,
            role: if healthy {
                NodeRole::Leader
            } else {
                NodeRole::Candidate
            },
            leader: healthy.then_some(0),
            term: 3,
            last_log_index: Some(12),
            commit_index: Some(12),
            applied_index: Some(12),
            voters: vec![0, 1, 2],
            learners: Vec::new(),
            healthy,
            reason: (!healthy).then(|| "no metadata leader is known".to_owned()),
            nodes: Vec::new(),
            partitions: Vec::new(),
            rebalance: None,
        }
    }

    fn with_nodes(mut status: ClusterStatus) -> ClusterStatus {
        status.nodes = vec![node(0, true, 2), node(1, true, 1)];
        status.partitions = vec![
            PartitionOwnerStatus {
                topic: "events".to_owned(),
                partition: 0,
                node: Some(1),
                epoch: Some(7),
            },
            PartitionOwnerStatus {
                topic: "orders".to_owned(),
                partition: 0,
                node: Some(0),
                epoch: Some(2),
            },
            PartitionOwnerStatus {
                topic: "orders".to_owned(),
                partition: 1,
                node: None,
                epoch: None,
            },
        ];
        status
    }

    fn words(line: &str) -> Vec<&str> {
        line.split_whitespace().collect()
    }

    fn move_to(partition: u32, from: Option<u64>, to: u64, epoch: u64) -> PartitionMoveStatus {
        PartitionMoveStatus {
            topic: "orders".to_owned(),
            partition,
            from,
            to,
            epoch,
        }
    }

    #[test]
    fn table_reads_like_etcdctl_endpoint_status() {
        let text = status_text(&sample(true), false);
        let mut lines = text.lines();
        let header = lines.next().expect("header");
        assert!(header.starts_with("NODE  ROLE"), "{text}");
        assert_eq!(
            words(lines.next().expect("row")),
            vec![
                "0", "leader", "0", "3", "12", "12", "12", "0,1,2", "-", "yes"
            ]
        );
        assert_eq!(lines.next(), None, "no nodes, no more tables: {text}");
    }

    #[test]
    fn an_unhealthy_status_says_why() {
        let text = status_text(&sample(false), false);
        assert!(text.contains("none"), "{text}");
        assert!(
            text.ends_with("unhealthy: no metadata leader is known"),
            "{text}"
        );
    }

    #[test]
    fn nodes_follow_the_group_and_owners_wait_for_the_flag() {
        let status = with_nodes(sample(true));
        let text = status_text(&status, false);
        let sections: Vec<&str> = text.split("\n\n").collect();
        assert_eq!(sections.len(), 3, "{text}");
        let nodes: Vec<&str> = sections[1].lines().collect();
        assert_eq!(
            words(nodes[0]),
            vec!["NODE", "PEER", "ADDRESS", "LIVE", "VOTER", "PARTITIONS"]
        );
        assert_eq!(
            words(nodes[1]),
            vec!["0", "pubsubgo-0.pubsubgo-headless:8082", "yes", "yes", "2"]
        );
        assert_eq!(nodes.len(), 3, "{text}");
        assert_eq!(sections[2], "3 partitions; list their owners with --owners");
        assert!(!text.contains("unhealthy"), "{text}");

        let text = status_text(&status, true);
        let owners: Vec<&str> = text.split("\n\n").nth(2).expect("owners").lines().collect();
        assert_eq!(
            words(owners[0]),
            vec!["TOPIC", "PARTITION", "OWNER", "EPOCH"]
        );
        assert_eq!(words(owners[1]), vec!["events", "0", "1", "7"]);
        assert_eq!(words(owners[2]), vec!["orders", "0", "0", "2"]);
        assert_eq!(words(owners[3]), vec!["orders", "1", "-", "-"]);
    }

    #[test]
    fn a_node_that_is_not_live_makes_the_cluster_unhealthy_by_name() {
        let mut status = with_nodes(sample(true));
        assert_eq!(unhealthy_reason(&status), None);
        status.nodes[1].live = false;
        assert_eq!(
            unhealthy_reason(&status).as_deref(),
            Some("node 1 is not live")
        );
        assert!(
            status_text(&status, false).ends_with("\nunhealthy: node 1 is not live"),
            "{}",
            status_text(&status, false)
        );
        status.nodes[0].live = false;
        status.healthy = false;
        status.reason = Some("no metadata leader is known".to_owned());
        assert_eq!(
            unhealthy_reason(&status).as_deref(),
            Some("no metadata leader is known; nodes 0, 1 are not live")
        );
    }

    #[test]
    fn a_rebalance_lists_each_move_then_the_share_moved() {
        let answer = RebalanceResponse {
            dry_run: false,
            partitions: 12,
            moves: vec![move_to(3, Some(1), 2, 14), move_to(7, None, 2, 15)],
        };
        let text = rebalance_text(&answer);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            words(lines[0]),
            vec!["TOPIC", "PARTITION", "FROM", "TO", "EPOCH"]
        );
        assert_eq!(words(lines[1]), vec!["orders", "3", "1", "2", "14"]);
        assert_eq!(words(lines[2]), vec!["orders", "7", "-", "2", "15"]);
        assert_eq!(lines[3], "");
        assert_eq!(lines[4], "moved 2 of 12 partitions (17%)");
        assert_eq!(lines.len(), 5, "{text}");

        let plan = RebalanceResponse {
            dry_run: true,
            ..answer
        };
        assert!(
            rebalance_text(&plan)
                .ends_with("dry run: would move 2 of 12 partitions (17%); nothing was changed")
        );
        let nothing = RebalanceResponse {
            dry_run: false,
            partitions: 0,
            moves: Vec::new(),
        };
        assert_eq!(rebalance_text(&nothing), "moved 0 of 0 partitions (0%)");
    }

    #[test]
    fn removing_a_node_lists_where_its_partitions_went() {
        let answer = RemoveNodeResponse {
            node_id: 3,
            moves: vec![move_to(0, Some(3), 1, 20)],
        };
        let text = remove_node_text(&answer);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            words(lines[0]),
            vec!["TOPIC", "PARTITION", "FROM", "TO", "EPOCH"]
        );
        assert_eq!(words(lines[1]), vec!["orders", "0", "3", "1", "20"]);
        assert_eq!(
            lines.get(2..),
            Some(&["", "removed node 3; moved its 1 partition"][..]),
            "{text}"
        );
        let idle = RemoveNodeResponse {
            node_id: 4,
            moves: Vec::new(),
        };
        assert_eq!(
            remove_node_text(&idle),
            "removed node 4; it owned no partitions"
        );
    }

    #[test]
    fn percentages_never_round_a_partial_share_away() {
        assert_eq!(percent(0, 12), "0%");
        assert_eq!(percent(4, 12), "33%");
        assert_eq!(percent(12, 12), "100%");
        assert_eq!(percent(1, 1000), "<1%");
        assert_eq!(percent(999, 1000), ">99%");
        assert_eq!(percent(0, 0), "0%");
    }
}
