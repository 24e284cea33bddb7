//! Test-only breaks, compiled in only with the `test-breaks` feature: the
//! chaos harness builds a server of its own with it (`jepsen/build-breaks`);
//! no test, release or image build has it. `PUBSUB_TEST_BREAK` names the one
//! break to switch on. Each breaks one guarantee, so the harness shows that
//! the checker of that guarantee catches it:
//!
//! - `ack-before-append`: a publish is answered `200` at once (ack level
//!   `leader`, no ids, partitions or offsets) and stored a second later, so a
//!   crash in between loses an acknowledged message (`lost-acked:*`).
//! - `skip-epoch-fence`: an owner cut off from the majority keeps serving its
//!   partitions (no ownership lease) and its appends pass the epoch check
//!   (every append claims the highest epoch), so an old owner and a new one
//!   serve one partition at once (`no-stale-owner`).
//! - `serve-before-catch-up`: a node back from a crash (or from a time out of
//!   contact) serves as owner on the metadata it has, without first applying
//!   the log up to the leader's commit index, and without waiting to hear
//!   from a leader after its start; its cursor writes pass the epoch fence in
//!   Redis (the other defence, which alone refuses a stale owner's lease; its
//!   claims and appends stay fenced). So it leases partitions that moved away
//!   while it was gone under its old epochs (`no-stale-owner`), for as long
//!   as the leader's log has not reached it (`kill-split` holds that off).
//! - `ack-dropped`: an ack on an `exactly-once` subscription is answered
//!   `200` and does nothing, so the message is delivered again once its lease
//!   expires, after an ack that promised it never would be
//!   (`no-delivery-after-ack`).
//! - `double-assign`: every member of a consumer group is also given
//!   partition 0, so two members consume it in one generation
//!   (`group-exclusive`).
//! - `create-exists-ok`: creating a topic that this node already knows
//!   answers `200` with it instead of `409 ALREADY_EXISTS` (an "idempotent"
//!   create read from local state), so two creates of one name both succeed
//!   with no delete between (`linearizable-metadata`).
//!
//! Not a break but a fault: `PUBSUB_TEST_CLOCK_OFFSET_MS` (signed) moves the
//! broker's wall clock ([`Clock`](crate::clock::Clock)) by that much, for a
//! node whose clock runs ahead or behind.

use std::sync::Arc;
use std::time::Duration;

use api::types::{AckLevel, PublishRequest, PublishResponse};
use cluster::{Epoch, MemberAssignment};

use crate::broker::publish::Publisher;

/// `skip-epoch-fence`: the epoch every append claims, above any real one
/// (and exact in Lua's doubles).
pub const NO_FENCE_EPOCH: &str = "9007199254740991";

/// `serve-before-catch-up`: the epoch every cursor write claims, so the
/// fence lets it through. The cursor script only compares it with the
/// partition's epoch, never records it, so the partition's real owner is not
/// fenced by it (an append at [`NO_FENCE_EPOCH`] would fence it for good).
pub fn unfenced_cursor_epoch() -> Epoch {
    NO_FENCE_EPOCH.parse().unwrap_or(Epoch::new(u64::MAX))
}

/// Whether `PUBSUB_TEST_BREAK` names `name`.
pub fn active(name: &str) -> bool {
    std::env::var("PUBSUB_TEST_BREAK").is_ok_and(|value| value == name)
}

/// `ack-before-append`: answers now, publishes a second later.
pub fn ack_before_append(
    publisher: Arc<Publisher>,
    topic: String,
    request: PublishRequest,
    key: Option<String>,
) -> PublishResponse {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let _ = publisher.publish(&topic, request, key.as_deref()).await;
    });
    PublishResponse {
        message_ids: Vec::new(),
        partitions: Vec::new(),
        offsets: Vec::new(),
        ack_level: AckLevel::Leader,
        deduplicated: false,
    }
}

/// `double-assign`: adds partition 0 to every member's assignment.
pub fn double_assign(mut assignment: MemberAssignment) -> MemberAssignment {
    if active("double-assign") && !assignment.partitions.contains(&0) {
        assignment.partitions.insert(0, 0);
    }
    assignment
}

/// `PUBSUB_TEST_CLOCK_OFFSET_MS`: how far this node's wall clock is moved.
pub fn clock_offset_millis() -> i64 {
    std::env::var("PUBSUB_TEST_CLOCK_OFFSET_MS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}
