//! The console's assets under `/ui`: embedded, each with a strict
//! Content-Security-Policy, every one the pages load present, and the API's
//! problems unchanged around them.

use http::Method;
use node::http::console::{ASSETS, CONTENT_SECURITY_POLICY};
use testkit::router::App;

#[test_log::test(tokio::test)]
async fn the_console_is_served_under_ui_with_a_strict_content_security_policy() {
    let app = App::memory();
    let root = app.get("/ui").await;
    assert_eq!(root.status, 308);
    assert_eq!(root.headers["location"], "/ui/");

    let index = app.get("/ui/").await;
    assert_eq!(index.status, 200);
    assert_eq!(index.headers["content-type"], "text/html; charset=utf-8");
    assert!(
        index
            .body
            .as_str()
            .is_some_and(|html| html.contains("PubSubGo console"))
    );
    for (path, content_type, _) in ASSETS {
        let reply = app.get(&format!("/ui/{path}")).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.headers["content-type"], *content_type, "{path}");
        assert_eq!(
            reply.headers["content-security-policy"], CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert_eq!(reply.headers["x-content-type-options"], "nosniff", "{path}");
    }
    assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'self';"));
    assert!(
        !CONTENT_SECURITY_POLICY.contains("unsafe"),
        "no inline or eval"
    );
}

#[test_log::test(tokio::test)]
async fn every_asset_the_console_loads_is_embedded_and_no_script_is_inline() {
    let names: Vec<&str> = ASSETS.iter().map(|(path, _, _)| *path).collect();
    let index = text("index.html");
    for tag in index.split("<script").skip(1) {
        let tag = &tag[..tag.find('>').expect("a closed tag")];
        assert!(
            tag.contains("src=\"/ui/"),
            "an inline script: <script{tag}>"
        );
    }
    let handlers = regex::Regex::new(r#"\son[a-z]+\s*="#).expect("a regex");
    assert!(!handlers.is_match(&index), "no inline event handlers");
    let mut loaded: Vec<String> = regex::Regex::new(r#"(?:src|href)="/ui/([^"]+)""#)
        .expect("a regex")
        .captures_iter(&index)
        .map(|c| c[1].to_owned())
        .collect();
    let imports = regex::Regex::new(r#"(?m)^import .* from "(\.\.?/[^"]+)";"#).expect("a regex");
    for (path, _, _) in ASSETS.iter().filter(|(path, _, _)| path.ends_with(".js")) {
        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        for import in imports.captures_iter(&text(path)) {
            loaded.push(resolve(dir, &import[1]));
        }
    }
    assert!(
        loaded.len() > ASSETS.len(),
        "the check reads the imports: {loaded:?}"
    );
    for asset in &loaded {
        assert!(
            names.contains(&asset.as_str()),
            "{asset} is loaded but not embedded"
        );
    }
}

#[test_log::test(tokio::test)]
async fn unknown_console_assets_and_api_paths_stay_problems() {
    let app = App::memory();
    let missing = app.get("/ui/missing.js").await;
    let detail = missing.problem(404, "NOT_FOUND");
    assert!(detail.contains("/ui/missing.js"), "{detail}");
    app.get("/v1/nothing-here").await.problem(404, "NOT_FOUND");
    app.send(Method::POST, "/ui/", &[], Vec::new())
        .await
        .problem(405, "METHOD_NOT_ALLOWED");
}

fn text(path: &str) -> String {
    let (_, _, bytes) = ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .unwrap_or_else(|| panic!("{path} is embedded"));
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

/// `./x.js` or `../x.js` from the asset folder `dir` ("" or "pages").
fn resolve(dir: &str, import: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in import.split('/') {
        match part {
            "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    parts.join("/")
}
