//! `/v1/topics` and `/v1/topics/{topic}[:publish|:publishStream]`.

use std::sync::Arc;

use api::ErrorCode;
use api::paths::IDEMPOTENCY_KEY_HEADER;
use api::types::{
    CreateTopicRequest, Empty, ListTopicsResponse, PublishRequest, PublishResponse, Topic,
};
use api::verbs::TopicVerb;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Extension, FromRequest, Path, Query, Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::body::JsonBody;
use super::problem::ApiError;
use super::{AppState, no_verb, resource_verb, wrong_method};
use crate::security::stream_caps::StreamSlot;

/// `?pageSize=&pageToken=` of list endpoints.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListParams {
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
}

/// Turns a query-string error into a problem.
pub fn list_params(
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<ListParams, ApiError> {
    query
        .map(|Query(params)| params)
        .map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.body_text()))
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<ListTopicsResponse>, ApiError> {
    let params = list_params(query)?;
    Ok(Json(
        state
            .broker
            .catalog
            .list_topics(params.page_size, params.page_token.as_deref())
            .await?,
    ))
}

/// `GET /v1/topics/{topic}`, and `:publishStream` (a WebSocket upgrade).
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(segment): Path<String>,
    slot: Option<Extension<StreamSlot>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    match resource_verb::<TopicVerb>(&segment, &Method::GET)? {
        (name, None) => Ok(Json(state.broker.catalog.get_topic(name).await?).into_response()),
        (name, Some(TopicVerb::PublishStream)) => {
            let upgrade = upgrade.map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        ":publishStream needs a WebSocket upgrade request: {}",
                        e.body_text()
                    ),
                )
            })?;
            super::publish_stream::upgrade(state, name, upgrade, slot.map(|Extension(slot)| slot))
                .await
        }
        (_, Some(verb @ TopicVerb::Publish)) => Err(wrong_method(verb, &Method::GET)),
    }
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    JsonBody(request): JsonBody<CreateTopicRequest>,
) -> Result<Json<Topic>, ApiError> {
    Ok(Json(
        state
            .broker
            .catalog
            .create_topic(no_verb(&name)?, request)
            .await?,
    ))
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Empty>, ApiError> {
    state.broker.catalog.delete_topic(no_verb(&name)?).await?;
    Ok(Json(Empty {}))
}

/// `POST /v1/topics/{topic}:publish`.
pub async fn post(
    State(state): State<Arc<AppState>>,
    Path(segment): Path<String>,
    request: Request,
) -> Result<Json<PublishResponse>, ApiError> {
    let name = match resource_verb::<TopicVerb>(&segment, &Method::POST)? {
        (name, Some(TopicVerb::Publish)) => name,
        (_, Some(verb @ TopicVerb::PublishStream)) => {
            return Err(wrong_method(verb, &Method::POST));
        }
        (_, None) => {
            return Err(ApiError::new(
                ErrorCode::MethodNotAllowed,
                "POST needs a verb: /v1/topics/{topic}:publish",
            ));
        }
    };
    let key = request
        .headers()
        .get(IDEMPOTENCY_KEY_HEADER)
        .map(|v| {
            v.to_str().map(str::to_owned).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidArgument,
                    "Idempotency-Key must be visible ASCII",
                )
            })
        })
        .transpose()?;
    let JsonBody(body) = JsonBody::<PublishRequest>::from_request(request, &state).await?;
    #[cfg(feature = "test-breaks")]
    if crate::test_breaks::active("ack-before-append") {
        let publisher = state.broker.publisher.clone();
        return Ok(Json(crate::test_breaks::ack_before_append(
            publisher,
            name.to_owned(),
            body,
            key,
        )));
    }
    Ok(Json(
        state
            .broker
            .publisher
            .publish(name, body, key.as_deref())
            .await?,
    ))
}
