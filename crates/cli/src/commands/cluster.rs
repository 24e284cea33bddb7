//! `cluster status`: the metadata group as the server sees it, in the shape of
//! `etcdctl endpoint status -w table`. An unhealthy answer is exit code 10,
//! like `rpk cluster health`.

use api::types::{ClusterStatus, NodeRole};

use super::Context;
use crate::args::{ClusterCommand, Format};
use crate::failure::ClusterUnhealthy;
use crate::output::{TextTable, print_json, print_text};

pub async fn run(ctx: &Context, command: ClusterCommand) -> anyhow::Result<()> {
    match command {
        ClusterCommand::Status => status(ctx).await,
    }
}

async fn status(ctx: &Context) -> anyhow::Result<()> {
    let status = ctx.client.cluster_status().await?;
    match ctx.format {
        Format::Json => print_json(&status)?,
        Format::Table => print_text(&status_table(&status)),
    }
    if status.healthy {
        Ok(())
    } else {
        Err(ClusterUnhealthy {
            reason: status
                .reason
                .unwrap_or_else(|| "no reason given".to_owned()),
        }
        .into())
    }
}

fn status_table(s: &ClusterStatus) -> String {
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
        TextTable::text(if s.healthy { "yes" } else { "no" }),
    ]);
    let mut text = table.render();
    if let Some(reason) = &s.reason {
        text.push_str(&format!("\nunhealthy: {reason}"));
    }
    if s.role == NodeRole::Standalone {
        text.push_str("\nmetadata is applied in-process on this server (no consensus group)");
    }
    text
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
        }
    }

    #[test]
    fn table_reads_like_etcdctl_endpoint_status() {
        let text = status_table(&sample(true));
        let mut lines = text.lines();
        let header = lines.next().expect("header");
        assert!(header.starts_with("NODE  ROLE"), "{text}");
        let row: Vec<&str> = lines.next().expect("row").split_whitespace().collect();
        assert_eq!(
            row,
            vec![
                "0", "leader", "0", "3", "12", "12", "12", "0,1,2", "-", "yes"
            ]
        );
    }

    #[test]
    fn an_unhealthy_status_says_why() {
        let text = status_table(&sample(false));
        assert!(text.contains("none"), "{text}");
        assert!(
            text.ends_with("unhealthy: no metadata leader is known"),
            "{text}"
        );
    }
}
