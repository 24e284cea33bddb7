//! Answering a request whose body no handler will read (a `429` from the
//! rate limits) without losing the keep-alive connection.
//!
//! HTTP/1.1 can carry the next request on a connection only once this one
//! has been read to its end. hyper, finding the body unread when the answer
//! goes out, drains what it has already buffered and otherwise closes the
//! connection, without a `Connection: close` to warn the client; a client
//! then meets a reset on its next request. So [`answer_after_body`] reads
//! and discards the body first, up to the request body limit (nothing is
//! kept: memory stays flat), and answers with `Connection: close` when it
//! will not read it all: a body declared or found larger than the limit, a
//! broken body, or `Expect: 100-continue` (the client is waiting to be told
//! to send; asking for a body only to discard it would waste its upload).

use api::limits::MAX_REQUEST_BODY_BYTES;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures::StreamExt;

/// Reads and drops `request`'s body, then answers `response`; with
/// `Connection: close` when the body was not read to its end.
pub async fn answer_after_body(request: Request, mut response: Response) -> Response {
    if !discard(request).await {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads the body to its end unless it is over the limit; answers whether
/// it was read to its end.
async fn discard(request: Request) -> bool {
    let headers = request.headers();
    if headers.contains_key(header::EXPECT) {
        return false;
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_REQUEST_BODY_BYTES as u64) {
        return false;
    }
    let mut chunks = request.into_body().into_data_stream();
    let mut read = 0usize;
    while let Some(chunk) = chunks.next().await {
        match chunk {
            Ok(bytes) => {
                read += bytes.len();
                if read > MAX_REQUEST_BODY_BYTES {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    use super::*;

    fn refused() -> Response {
        StatusCode::TOO_MANY_REQUESTS.into_response()
    }

    fn closes(response: &Response) -> bool {
        response.headers().get(header::CONNECTION) == Some(&HeaderValue::from_static("close"))
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_read_and_the_connection_kept() {
        let request = Request::new(Body::from(vec![b'x'; 64 * 1024]));
        assert!(!closes(&answer_after_body(request, refused()).await));
    }

    #[tokio::test]
    async fn a_body_not_read_to_its_end_closes_the_connection() {
        let expecting = Request::builder()
            .header(header::EXPECT, "100-continue")
            .body(Body::empty())
            .expect("request");
        let declared_too_large = Request::builder()
            .header(header::CONTENT_LENGTH, MAX_REQUEST_BODY_BYTES + 1)
            .body(Body::empty())
            .expect("request");
        let too_large = Request::new(Body::from(vec![b'x'; MAX_REQUEST_BODY_BYTES + 1]));
        for request in [expecting, declared_too_large, too_large] {
            assert!(closes(&answer_after_body(request, refused()).await));
        }
    }
}
