//! The web console at `/ui` (docs/console.md): static, dependency-free ES
//! modules and CSS embedded in the binary, so it works offline and needs no
//! separate process. It talks only to the public API with `fetch`, so what it
//! shows is what any client can get.
//!
//! Every asset is served with a strict Content-Security-Policy: scripts,
//! styles, images and connections from this origin only, no inline scripts,
//! no frames. `/ui` is not part of the API (the OpenAPI document does not list
//! it); an unknown asset is the API's `404 NOT_FOUND` problem.

use api::ErrorCode;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::problem::ApiError;

/// Where the console lives on the client port.
pub const ROOT: &str = "/ui";
/// The console's index page; every asset is under it.
pub const INDEX: &str = "/ui/";
/// The route of one asset.
pub const ASSET_ROUTE: &str = "/ui/{*file}";

/// The policy every console response carries.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const JS: &str = "text/javascript; charset=utf-8";

/// The embedded assets: path under `/ui/`, content type, bytes.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../../console/index.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../console/style.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../console/favicon.svg"),
    ),
    ("app.js", JS, include_bytes!("../../console/app.js")),
    ("api.js", JS, include_bytes!("../../console/api.js")),
    ("dom.js", JS, include_bytes!("../../console/dom.js")),
    (
        "pages/overview.js",
        JS,
        include_bytes!("../../console/pages/overview.js"),
    ),
    (
        "pages/topics.js",
        JS,
        include_bytes!("../../console/pages/topics.js"),
    ),
    (
        "pages/subscriptions.js",
        JS,
        include_bytes!("../../console/pages/subscriptions.js"),
    ),
    (
        "pages/dead_letters.js",
        JS,
        include_bytes!("../../console/pages/dead_letters.js"),
    ),
    (
        "pages/groups.js",
        JS,
        include_bytes!("../../console/pages/groups.js"),
    ),
    (
        "pages/cluster.js",
        JS,
        include_bytes!("../../console/pages/cluster.js"),
    ),
];

/// `/ui` without the slash: the index, so relative paths resolve under `/ui/`.
pub async fn root() -> Redirect {
    Redirect::permanent(INDEX)
}

/// `/ui/`: the console's one page.
pub async fn index() -> Response {
    serve("index.html").unwrap_or_else(|e| e.into_response())
}

/// `/ui/{file}`: one embedded asset, or `404 NOT_FOUND`.
pub async fn asset(Path(file): Path<String>) -> Response {
    serve(&file).unwrap_or_else(|e| e.into_response())
}

fn serve(file: &str) -> Result<Response, ApiError> {
    let (_, content_type, bytes) = ASSETS
        .iter()
        .find(|(path, _, _)| *path == file)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("the console has no asset {ROOT}/{file}"),
            )
        })?;
    let mut response = (*bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The assets change with the binary; revalidate so an upgrade shows.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
