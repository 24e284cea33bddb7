//! JSON request bodies.
//!
//! Accepts `Content-Type: application/json` (or none), `Content-Encoding:
//! identity | snappy | lz4`, at most [`MAX_REQUEST_BODY_BYTES`] before and
//! after decompression. An empty body reads as `{}`; [`json_shape`] reads the
//! rest as the OpenAPI document describes it. Syntax errors are
//! `MALFORMED_JSON`; well-formed JSON of the wrong shape (unknown field, wrong
//! type, bad base64) is `INVALID_ARGUMENT` (see [`ApiError::json`]).

use std::borrow::Cow;

use api::ErrorCode;
use api::compression::{Compression, DecompressError};
use api::limits::MAX_REQUEST_BODY_BYTES;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use super::json_shape;
use super::problem::ApiError;

/// A decoded JSON body.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let headers = request.headers();
        if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
            let media = content_type
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim();
            if !media.eq_ignore_ascii_case("application/json") {
                let media = media.to_ascii_lowercase();
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    format!("Content-Type {media:?} is not accepted; send application/json"),
                ));
            }
        }
        let encoding = match headers.get(header::CONTENT_ENCODING) {
            None => None,
            Some(value) => Compression::from_header(value.to_str().unwrap_or("<non-ascii>"))
                .map_err(|e| ApiError::new(ErrorCode::UnsupportedMediaType, e.to_string()))?,
        };
        let raw = axum::body::to_bytes(request.into_body(), MAX_REQUEST_BODY_BYTES)
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("request body is larger than {MAX_REQUEST_BODY_BYTES} bytes"),
                )
            })?;
        let bytes: Cow<'_, [u8]> = match encoding {
            None => Cow::Borrowed(&raw),
            Some(codec) => codec
                .decompress(&raw, MAX_REQUEST_BODY_BYTES)
                .map_err(|e| match e {
                    DecompressError::TooLarge { .. } => {
                        ApiError::new(ErrorCode::PayloadTooLarge, e.to_string())
                    }
                    _ => ApiError::new(ErrorCode::InvalidArgument, e.to_string()),
                })
                .map(Cow::Owned)?,
        };
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        json_shape::decode(text)
            .map(JsonBody)
            .map_err(|e| ApiError::json("request body", &e))
    }
}
