//! `/v1/cluster` (status), `/v1/cluster:rebalance` and
//! `DELETE /v1/cluster/nodes/{id}`.

use std::sync::Arc;

use api::ErrorCode;
use api::types::{ClusterStatus, RebalanceRequest, RebalanceResponse, RemoveNodeResponse};
use axum::Json;
use axum::extract::{Path, State};
use cluster::NodeId;

use super::AppState;
use super::body::JsonBody;
use super::problem::ApiError;

/// `GET /v1/cluster`: the metadata group, nodes and partition owners as this
/// node sees them.
pub async fn status(State(state): State<Arc<AppState>>) -> Json<ClusterStatus> {
    Json(state.broker.metadata.store().status())
}

/// `POST /v1/cluster:rebalance`; an empty body is a real rebalance.
pub async fn rebalance(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<RebalanceRequest>,
) -> Result<Json<RebalanceResponse>, ApiError> {
    Ok(Json(state.broker.cluster.rebalance(request.dry_run).await?))
}

/// `DELETE /v1/cluster/nodes/{id}`: removes the node from the cluster.
pub async fn remove_node(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<RemoveNodeResponse>, ApiError> {
    Ok(Json(state.broker.cluster.remove_node(node_id(&id)?).await?))
}

/// A node id from the path: a non-negative integer.
fn node_id(text: &str) -> Result<NodeId, ApiError> {
    text.parse().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidArgument,
            format!("node id must be a non-negative integer, got {text:?}"),
        )
    })
}
