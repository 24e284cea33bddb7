//! The "what is moving" part of `cluster status`: the automatic rebalance's
//! settings, the partitions away from their rendezvous owner (a table of the
//! first few, `cooling` when one waits out the cool-down), and the last owner
//! changes the answering node applied (`TOPIC  PARTITION  FROM  TO  EPOCH  AGO`).

use api::types::RebalanceStatus;

use crate::output::TextTable;

/// How many pending and recent moves the table shows; `--format json` has all.
const SHOWN: usize = 10;

/// The rebalance line, then the pending and recent tables when not empty.
/// `now_millis` is the CLI's clock, for how long ago each move was.
pub fn moving_text(r: &RebalanceStatus, now_millis: u64) -> String {
    let mode = if r.auto {
        format!(
            "automatic, at most {} partitions/s, cool-down {} s",
            r.moves_per_second, r.cooldown_seconds
        )
    } else {
        "manual (pubsub-cli cluster rebalance)".to_owned()
    };
    let cooling = r.pending.iter().filter(|p| p.cooling_down).count();
    let mut text = format!(
        "rebalance: {mode}; {} partitions pending ({cooling} cooling down), {} recent moves",
        r.pending.len(),
        r.recent_moves.len()
    );
    if !r.pending.is_empty() {
        let mut table = TextTable::new(&["pending topic", "partition", "from", "to", "state"]);
        for p in r.pending.iter().take(SHOWN) {
            table.row(vec![
                TextTable::text(&p.topic),
                TextTable::number(p.partition),
                TextTable::number(p.from),
                TextTable::number(p.to),
                TextTable::text(if p.cooling_down { "cooling" } else { "next" }),
            ]);
        }
        text.push_str("\n\n");
        text.push_str(&table.render());
    }
    if !r.recent_moves.is_empty() {
        let mut table = TextTable::new(&["moved topic", "partition", "from", "to", "epoch", "ago"]);
        for m in r.recent_moves.iter().rev().take(SHOWN) {
            let ago = now_millis.saturating_sub(m.at_millis) as f64 / 1000.0;
            table.row(vec![
                TextTable::text(&m.topic),
                TextTable::number(m.partition),
                TextTable::number(m.from.map_or_else(|| "-".to_owned(), |f| f.to_string())),
                TextTable::number(m.to),
                TextTable::number(m.epoch),
                TextTable::number(format!("{ago:.1}s")),
            ]);
        }
        text.push_str("\n\n");
        text.push_str(&table.render());
    }
    text
}

#[cfg(test)]
mod tests {
    use api::types::{PendingMoveStatus, RecentMoveStatus};

    use super::*;

    #[test]
    fn says_the_mode_counts_and_shows_pending_and_recent_moves() {
        let mut status = RebalanceStatus {
            auto: true,
            moves_per_second: 20,
            cooldown_seconds: 30,
            pending: vec![PendingMoveStatus {
                topic: "orders".to_owned(),
                partition: 3,
                from: 1,
                to: 3,
                cooling_down: true,
            }],
            recent_moves: vec![RecentMoveStatus {
                topic: "orders".to_owned(),
                partition: 3,
                from: Some(3),
                to: 1,
                epoch: 41,
                at_millis: 10_000,
            }],
        };
        let text = moving_text(&status, 12_500);
        assert!(
            text.starts_with(
                "rebalance: automatic, at most 20 partitions/s, cool-down 30 s; \
                 1 partitions pending (1 cooling down), 1 recent moves"
            ),
            "{text}"
        );
        assert!(text.contains("cooling") && text.contains("2.5s"), "{text}");
        status.auto = false;
        status.pending.clear();
        status.recent_moves.clear();
        assert_eq!(
            moving_text(&status, 0),
            "rebalance: manual (pubsub-cli cluster rebalance); 0 partitions pending \
             (0 cooling down), 0 recent moves"
        );
    }
}
