//! The rate-limit middleware (see `crate::security::rate_limits`): per client
//! address before authentication, per principal after it. A refusal is
//! `429 RESOURCE_EXHAUSTED` with `Retry-After` in whole seconds (at least 1),
//! sent once the request's body is read and dropped, so the keep-alive
//! connection carries the client's next request ([`super::unread_body`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use api::ErrorCode;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{RETRY_AFTER, UPGRADE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::IncomingStream;

use super::auth::Principal;
use super::problem::ApiError;
use super::unread_body::answer_after_body;
use crate::security::auth::Requirement;
use crate::security::rate_limits::RateLimits;
use crate::security::tls_listener::TlsListener;
use crate::telemetry::connections::CountingListener;

/// The client's address, as `axum::serve` hands it to the router
/// (`into_make_service_with_connect_info::<ClientAddr>()`) for any of the
/// client port's listeners, plain or TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, CountingListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, CountingListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener<CountingListener>>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener<CountingListener>>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// Refuses a request whose client address has no token left.
pub async fn by_address(
    State(limits): State<Arc<RateLimits>>,
    request: Request,
    next: Next,
) -> Response {
    if Requirement::of(request.method(), request.uri().path()) == Requirement::Public {
        return next.run(request).await;
    }
    // Absent only when the router is driven without a listener (tests).
    let address = request
        .extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map(|info| info.0.0.ip());
    match address.map(|a| limits.check_address(a)) {
        Some(Err(wait)) => answer_after_body(request, refuse(wait, "this client address")).await,
        _ => next.run(request).await,
    }
}

/// Refuses a request whose principal has no token left (installed only with
/// authentication on: without it there is no principal).
pub async fn by_principal(
    State(limits): State<Arc<RateLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(Principal(principal)) = request.extensions().get::<Principal>().cloned() else {
        return next.run(request).await;
    };
    if let Err(wait) = limits.check_principal(&principal) {
        let refusal = refuse(wait, &format!("principal {principal:?}"));
        return answer_after_body(request, refusal).await;
    }
    let mut request = request;
    if is_websocket_upgrade(&request) {
        match limits.open_stream(&principal) {
            // The stream handler moves the slot into the stream's task.
            Ok(Some(slot)) => {
                request.extensions_mut().insert(slot);
            }
            Ok(None) => {}
            Err(cap) => {
                let mut response = ApiError::new(
                    ErrorCode::ResourceExhausted,
                    format!(
                        "principal {principal:?} has {cap} WebSocket streams open, its cap; close one first"
                    ),
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(1));
                return response;
            }
        }
    }
    next.run(request).await
}

fn is_websocket_upgrade(request: &Request) -> bool {
    request
        .headers()
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

fn refuse(wait: Duration, whom: &str) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut response = ApiError::new(
        ErrorCode::ResourceExhausted,
        format!("too many requests from {whom}; retry after {seconds} s"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
}
