//! How the Rust client's HTTP calls travel: hyper's pooled client
//! (`hyper-util`), rustls for `https://`, one timeout around each whole call
//! (connecting, sending and reading the answer's body), and the credentials
//! on every request.
//!
//! Not reqwest, which this client used before: its layers (redirects, retries,
//! its own URL type) parsed every request's URL three times and cloned its
//! headers, and cost 30–45 µs of a single-message publish's round trip on the
//! benchmark machine (BENCHMARKS.md, "The Rust client's requests without
//! reqwest's layers").
//!
//! The API never answers with a redirect, so none is followed: a `3xx` is an
//! unexpected answer, as for the push sender. Nor does it read `HTTP_PROXY`
//! and its kin: it connects to the server directly.

use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as PooledClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::client_error::{ClientError, TransportError};

/// What a path keeps percent-encoded: the URL standard's path set (what a
/// browser or the `url` crate encodes in a path), so a name the server will
/// refuse still reaches it and is refused there with a problem.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// When an idle connection is probed, and between probes.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// A request's body: its bytes, media type, `Content-Encoding` if
/// compressed, and any further headers of the request.
pub(crate) struct Body {
    pub(crate) bytes: Vec<u8>,
    pub(crate) content_type: &'static str,
    pub(crate) encoding: Option<&'static str>,
    pub(crate) headers: Vec<(&'static str, String)>,
}

/// The HTTP side of a [`crate::Client`]: cheap to clone, its connections
/// pooled and shared by the clones.
#[derive(Clone)]
pub(crate) struct HttpTransport {
    pooled: PooledClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    scheme: Scheme,
    authority: Authority,
    /// The base URL's path without its trailing `/` (empty for most servers;
    /// `/pubsub` behind a proxy that serves it there).
    prefix: String,
    authorization: Option<HeaderValue>,
    timeout: Duration,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("scheme", &self.scheme)
            .field("authority", &self.authority)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// The transport to `base` (checked to start with `http://` or
    /// `https://`); `tls` is the config an `https://` base is reached with.
    /// With `http2`, requests go over HTTP/2 without negotiating it.
    pub(crate) fn new(
        base: &str,
        tls: Option<&rustls::ClientConfig>,
        token: Option<&str>,
        timeout: Duration,
        http2: bool,
    ) -> Result<Self, ClientError> {
        let invalid = |reason: String| ClientError::InvalidUrl {
            url: base.to_owned(),
            reason,
        };
        let uri: Uri = base
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(e.to_string()))?;
        let (Some(scheme), Some(authority)) = (uri.scheme().cloned(), uri.authority().cloned())
        else {
            return Err(invalid("has no host".to_owned()));
        };
        if uri.query().is_some() {
            return Err(invalid("must not have a query".to_owned()));
        }
        if authority.as_str().contains('@') {
            return Err(invalid(
                "must not hold credentials; pass a token (--token, ClientOptions::token)"
                    .to_owned(),
            ));
        }
        let prefix = uri.path().trim_end_matches('/').to_owned();
        let authorization = token
            .map(|token| {
                let mut value = HeaderValue::from_str(&format!("Bearer {token}"))?;
                // Kept out of HTTP/2's header compression table and of Debug output.
                value.set_sensitive(true);
                Ok(value)
            })
            .transpose()
            .map_err(|e: http::header::InvalidHeaderValue| {
                invalid(format!("the token is not a valid header value: {e}"))
            })?;
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        connector.set_nodelay(true);
        // A server host that vanishes without a reset fails calls within about
        // 30 s instead of the kernel's 15 minutes of retransmissions (as
        // reqwest's defaults did): keep-alive probes after 15 s idle, and a
        // bound on unacknowledged data.
        connector.set_keepalive(Some(KEEPALIVE));
        connector.set_keepalive_interval(Some(KEEPALIVE));
        connector.set_keepalive_retries(Some(3));
        // hyper-util offers the option only where the kernel has it.
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        connector.set_tcp_user_timeout(Some(2 * KEEPALIVE));
        // An `http://` base never shakes hands; its config trusts nothing.
        let tls = match tls {
            Some(config) => config.clone(),
            None => {
                let nobody = crate::tls::trusting(rustls::RootCertStore::empty())
                    .map_err(|e| invalid(e.to_string()))?;
                std::sync::Arc::unwrap_or_clone(nobody)
            }
        };
        // HTTP/1.1 alone keeps the config's ALPN empty, as the server's client
        // port expects; `http2` speaks HTTP/2 by prior knowledge instead.
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let pooled = PooledClient::builder(TokioExecutor::new())
            .http2_only(http2)
            // Idle connections are closed after 90 s (the pool's default), by this timer.
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        Ok(Self {
            pooled,
            scheme,
            authority,
            prefix,
            authorization,
            timeout,
        })
    }

    /// Sends `method` to `path` (with `query`, already encoded) and reads the
    /// whole answer, within the timeout.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: Option<Body>,
    ) -> Result<(StatusCode, Bytes), TransportError> {
        let request = self.request(method, path, query, body)?;
        let call = async {
            let response = self
                .pooled
                .request(request)
                .await
                .map_err(TransportError::from_pooled)?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| TransportError::Http(Box::new(e)))?
                .to_bytes();
            Ok((status, bytes))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| TransportError::Timeout(self.timeout))?
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: Option<Body>,
    ) -> Result<Request<Full<Bytes>>, TransportError> {
        let mut target = format!("{}{}", self.prefix, utf8_percent_encode(path, PATH));
        if let Some(query) = query {
            target.push('?');
            target.push_str(query);
        }
        let path_and_query =
            PathAndQuery::try_from(target).map_err(|e| TransportError::Http(Box::new(e)))?;
        let uri = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|e| TransportError::Http(Box::new(e)))?;
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(authorization) = &self.authorization {
            builder = builder.header(AUTHORIZATION, authorization.clone());
        }
        let bytes = match body {
            Some(body) => {
                builder = builder.header(CONTENT_TYPE, body.content_type);
                if let Some(encoding) = body.encoding {
                    builder = builder.header(CONTENT_ENCODING, encoding);
                }
                for (name, value) in body.headers {
                    builder = builder.header(name, value);
                }
                Bytes::from(body.bytes)
            }
            None => Bytes::new(),
        };
        builder
            .body(Full::new(bytes))
            .map_err(|e| TransportError::Http(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(base: &str) -> HttpTransport {
        HttpTransport::new(base, None, Some("k1"), Duration::from_secs(1), false)
            .expect("transport")
    }

    #[test]
    fn a_request_carries_the_base_path_an_encoded_path_and_the_credentials() {
        let request = transport("http://broker:8081/pubsub/")
            .request(
                Method::POST,
                "/v1/topics/a b:publish",
                Some("pageSize=2"),
                Some(Body {
                    bytes: b"{}".to_vec(),
                    content_type: "application/json",
                    encoding: Some("lz4"),
                    headers: vec![("idempotency-key", "order-7".to_owned())],
                }),
            )
            .expect("request");
        assert_eq!(
            request.uri().to_string(),
            "http://broker:8081/pubsub/v1/topics/a%20b:publish?pageSize=2"
        );
        assert_eq!(request.headers()[AUTHORIZATION], "Bearer k1");
        assert!(request.headers()[AUTHORIZATION].is_sensitive());
        assert_eq!(request.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(request.headers()[CONTENT_ENCODING], "lz4");
        assert_eq!(request.headers()["idempotency-key"], "order-7");
    }

    #[test]
    fn a_base_without_a_host_with_a_query_or_with_credentials_is_refused() {
        for base in [
            "http://",
            "http://broker:8081/?x=1",
            "http://user:secret@broker:8081",
        ] {
            let refused = HttpTransport::new(base, None, None, Duration::from_secs(1), false);
            assert!(
                matches!(refused, Err(ClientError::InvalidUrl { .. })),
                "{base}: {refused:?}"
            );
        }
    }
}
