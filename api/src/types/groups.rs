//! Consumer groups of `partitioned` subscriptions: join, heartbeat, leave, and
//! the group as `GET /v1/subscriptions/{sub}` shows it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Body of `POST /v1/subscriptions/{sub}:join`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JoinGroupRequest {
    /// 6 to 300 (default 30). A member that sends no heartbeat for this long is
    /// removed and its partitions go to the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_timeout_seconds: Option<u32>,
}

/// Answer of `:join`: the new member's id and its first assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinGroupResponse {
    /// Pass in every heartbeat, pull (`memberId`) and stream (`?memberId=`).
    pub member_id: String,
    pub generation: u64,
    /// The partitions this member consumes in `generation`, ascending; empty
    /// when the group has more members than the topic has partitions.
    pub partitions: Vec<u32>,
    /// How often to heartbeat: a third of the session timeout.
    pub heartbeat_interval_seconds: u32,
}

/// Body of `POST /v1/subscriptions/{sub}:heartbeat`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeartbeatRequest {
    pub member_id: String,
    /// The newest generation the member knows. An older one than the group's
    /// is fine: the answer carries the current assignment.
    pub generation: u64,
}

/// Answer of `:heartbeat`: the member's current assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatResponse {
    pub generation: u64,
    pub partitions: Vec<u32>,
}

/// Body of `POST /v1/subscriptions/{sub}:leave`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LeaveGroupRequest {
    pub member_id: String,
}

/// The consumer group of a partitioned subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerGroup {
    /// Increases at every change of the assignment; 0 before the first join.
    pub generation: u64,
    /// In member id order.
    pub members: Vec<GroupMember>,
}

/// One member of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    pub member_id: String,
    pub partitions: Vec<u32>,
    /// RFC 3339: the join or the latest heartbeat.
    pub last_heartbeat_time: String,
    pub session_timeout_seconds: u32,
}
