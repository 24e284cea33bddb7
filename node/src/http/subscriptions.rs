//! `/v1/subscriptions` and `/v1/subscriptions/{sub}[:verb]`.

use std::sync::Arc;
use std::time::Duration;

use api::ErrorCode;
use api::limits::{DEFAULT_PULL_MESSAGES, MAX_PULL_MESSAGES, MAX_PULL_WAIT_SECONDS};
use api::types::{
    AckIdsRequest, CreateSubscriptionRequest, Empty, HeartbeatRequest, JoinGroupRequest,
    LeaveGroupRequest, ListSubscriptionsResponse, ModifyAckDeadlineRequest, NackRequest,
    PullRequest, PullResponse, RedriveRequest, RedriveResponse, ResumeKeyRequest,
    ResumeKeyResponse, SeekRequest, Subscription,
};
use api::verbs::SubscriptionVerb;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Extension, FromRequest, Path, Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::body::JsonBody;
use super::problem::ApiError;
use super::topics::{ListParams, list_params};
use super::{AppState, no_verb, resource_verb, stream, wrong_method};
use crate::security::stream_caps::StreamSlot;

/// What `axum::Json` answers with; a pull's answer is written by hand.
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

pub async fn list(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<ListSubscriptionsResponse>, ApiError> {
    let params = list_params(query)?;
    Ok(Json(
        state
            .broker
            .catalog
            .list_subscriptions(params.page_size, params.page_token.as_deref())
            .await?,
    ))
}

/// Query parameters of `GET /v1/subscriptions/{sub}:verb`: `maxMessages` for
/// `:deadLetters`; `memberId` (required on partitioned subscriptions) and
/// `encoding` (`json` or `binary`) for `:stream`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetParams {
    pub max_messages: Option<u32>,
    pub member_id: Option<String>,
    pub encoding: Option<api::stream::Encoding>,
}

/// `GET /v1/subscriptions/{sub}`, `{sub}:deadLetters`, or the WebSocket upgrade of `{sub}:stream`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(segment): Path<String>,
    query: Result<Query<GetParams>, QueryRejection>,
    slot: Option<Extension<StreamSlot>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    match resource_verb::<SubscriptionVerb>(&segment, &Method::GET)? {
        (name, None) => {
            Ok(Json(state.broker.catalog.get_subscription(name).await?).into_response())
        }
        (name, Some(SubscriptionVerb::DeadLetters)) => {
            let Query(params) =
                query.map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.body_text()))?;
            Ok(Json(
                state
                    .broker
                    .delivery
                    .list_dead_letters(name, params.max_messages)
                    .await?,
            )
            .into_response())
        }
        (name, Some(SubscriptionVerb::Stream)) => {
            let Query(params) =
                query.map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.body_text()))?;
            let upgrade = upgrade.map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        ":stream needs a WebSocket upgrade request: {}",
                        e.body_text()
                    ),
                )
            })?;
            stream::upgrade(
                state,
                name,
                params.member_id.as_deref(),
                params.encoding.unwrap_or_default(),
                upgrade,
                slot.map(|Extension(slot)| slot),
            )
            .await
        }
        (_, Some(verb)) => Err(wrong_method(verb, &Method::GET)),
    }
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    JsonBody(request): JsonBody<CreateSubscriptionRequest>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(
        state
            .broker
            .catalog
            .create_subscription(no_verb(&name)?, request)
            .await?,
    ))
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Empty>, ApiError> {
    state
        .broker
        .catalog
        .delete_subscription(no_verb(&name)?)
        .await?;
    Ok(Json(Empty {}))
}

/// `POST /v1/subscriptions/{sub}:verb`: every verb but `:deadLetters` and `:stream`.
pub async fn post(
    State(state): State<Arc<AppState>>,
    Path(segment): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let (name, verb) = match resource_verb::<SubscriptionVerb>(&segment, &Method::POST)? {
        (name, Some(verb)) => (name, verb),
        (_, None) => {
            return Err(ApiError::new(
                ErrorCode::MethodNotAllowed,
                "POST needs a verb, e.g. /v1/subscriptions/{sub}:pull",
            ));
        }
    };
    let broker = &state.broker;
    match verb {
        SubscriptionVerb::Pull => {
            let body: PullRequest = decode(request, &state).await?;
            let max = body.max_messages.unwrap_or(DEFAULT_PULL_MESSAGES);
            if !(1..=MAX_PULL_MESSAGES).contains(&max) {
                return Err(ApiError::new(
                    ErrorCode::InvalidArgument,
                    format!("maxMessages must be 1 to {MAX_PULL_MESSAGES}, got {max}"),
                ));
            }
            let wait = body.wait_seconds.unwrap_or(0);
            if wait > MAX_PULL_WAIT_SECONDS {
                return Err(ApiError::new(
                    ErrorCode::InvalidArgument,
                    format!("waitSeconds must be 0 to {MAX_PULL_WAIT_SECONDS}, got {wait}"),
                ));
            }
            let wait = Duration::from_secs(u64::from(wait));
            let received_messages = match body.member_id.as_deref() {
                Some(member) => {
                    broker
                        .groups
                        .pull_as_member(name, member, max, wait)
                        .await?
                }
                None => broker.delivery.pull(name, max, wait).await?,
            };
            // Written by hand, the bytes `Json` would write (api's delivery_json).
            let body = PullResponse { received_messages }.to_json();
            Ok(([(CONTENT_TYPE, APPLICATION_JSON)], body).into_response())
        }
        SubscriptionVerb::Acknowledge => {
            let body: AckIdsRequest = decode(request, &state).await?;
            broker.delivery.acknowledge(name, &body.ack_ids).await?;
            Ok(Json(Empty {}).into_response())
        }
        SubscriptionVerb::Nack => {
            let body: NackRequest = decode(request, &state).await?;
            broker
                .delivery
                .nack(name, &body.ack_ids, body.delay_seconds, body.reason)
                .await?;
            Ok(Json(Empty {}).into_response())
        }
        SubscriptionVerb::Seek => {
            let body: SeekRequest = decode(request, &state).await?;
            broker.delivery.seek(name, body).await?;
            Ok(Json(Empty {}).into_response())
        }
        SubscriptionVerb::Redrive => {
            let body: RedriveRequest = decode(request, &state).await?;
            let redriven = broker.delivery.redrive(name, body).await?;
            Ok(Json(RedriveResponse { redriven }).into_response())
        }
        SubscriptionVerb::ResumeOrderingKey => {
            let body: ResumeKeyRequest = decode(request, &state).await?;
            let resumed = broker
                .delivery
                .resume_ordering_key(name, &body.ordering_key)
                .await?;
            Ok(Json(ResumeKeyResponse { resumed }).into_response())
        }
        SubscriptionVerb::ModifyAckDeadline => {
            let body: ModifyAckDeadlineRequest = decode(request, &state).await?;
            broker
                .delivery
                .modify_ack_deadline(name, &body.ack_ids, body.ack_deadline_seconds)
                .await?;
            Ok(Json(Empty {}).into_response())
        }
        SubscriptionVerb::Join => {
            let body: JoinGroupRequest = decode(request, &state).await?;
            Ok(Json(broker.groups.join_group(name, body).await?).into_response())
        }
        SubscriptionVerb::Heartbeat => {
            let body: HeartbeatRequest = decode(request, &state).await?;
            let reply = broker
                .groups
                .heartbeat(name, &body.member_id, body.generation)
                .await?;
            Ok(Json(reply).into_response())
        }
        SubscriptionVerb::Leave => {
            let body: LeaveGroupRequest = decode(request, &state).await?;
            broker.groups.leave_group(name, &body.member_id).await?;
            Ok(Json(Empty {}).into_response())
        }
        SubscriptionVerb::DeadLetters | SubscriptionVerb::Stream => {
            Err(wrong_method(verb, &Method::POST))
        }
    }
}

async fn decode<T: DeserializeOwned>(request: Request, state: &AppState) -> Result<T, ApiError> {
    JsonBody::<T>::from_request(request, state)
        .await
        .map(|JsonBody(body)| body)
}
