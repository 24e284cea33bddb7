//! What the console tests share: opening pages, reading the banner and the
//! notice, and the check that the page fetched nothing from elsewhere.

use serde_json::json;

use crate::webdriver::Browser;

/// Opens the console at `base` (`http://host:port`) and starts recording
/// what the check in [`assert_no_outside_requests`] reads.
pub async fn open_console(browser: &Browser, base: &str) -> anyhow::Result<()> {
    browser.goto(&format!("{base}/ui")).await?;
    wait_page(browser, "overview").await?;
    browser
        .run(
            "performance.setResourceTimingBufferSize(100000);
             window.__violations = [];
             document.addEventListener('securitypolicyviolation',
               (e) => window.__violations.push(e.blockedURI || e.violatedDirective));
             return true;",
            json!([]),
        )
        .await?;
    Ok(())
}

/// Clicks the navigation link of `page` and waits until it has loaded.
pub async fn nav(browser: &Browser, page: &str) -> anyhow::Result<()> {
    browser.click(&format!("nav a[data-page='{page}']")).await?;
    wait_page(browser, page).await
}

/// Waits until the page `page` has rendered its first refresh.
pub async fn wait_page(browser: &Browser, page: &str) -> anyhow::Result<()> {
    browser
        .wait_for(
            &format!("the {page} page"),
            &format!(
                "document.getElementById('page').dataset.page === '{page}' \
                 && document.getElementById('page').dataset.ready === 'true'"
            ),
        )
        .await?;
    Ok(())
}

/// Waits for the success notice to contain `text`.
pub async fn wait_notice(browser: &Browser, text: &str) -> anyhow::Result<()> {
    browser
        .wait_for(
            &format!("the notice {text:?}"),
            &format!(
                "!document.getElementById('notice').hidden \
                 && document.getElementById('notice').textContent.includes({})",
                json!(text)
            ),
        )
        .await?;
    Ok(())
}

/// Waits for the text of the element `css` to be `expected`.
pub async fn wait_text(browser: &Browser, css: &str, expected: &str) -> anyhow::Result<()> {
    browser
        .wait_for(
            &format!("{css} to read {expected:?}"),
            &format!(
                "document.querySelector({})?.textContent.trim() === {}",
                json!(css),
                json!(expected)
            ),
        )
        .await?;
    Ok(())
}

/// The URLs the page fetched from another origin than `base`, and the
/// requests its Content-Security-Policy blocked since [`open_console`].
pub async fn outside_requests(browser: &Browser, base: &str) -> anyhow::Result<Vec<String>> {
    let seen = browser
        .run(
            "const origin = arguments[0];
             const names = performance.getEntriesByType('navigation')
               .concat(performance.getEntriesByType('resource')).map((e) => e.name);
             return {
               count: names.length,
               outside: names.filter((n) => !n.startsWith(origin + '/'))
                 .concat(window.__violations.map((v) => 'blocked: ' + v)),
             };",
            json!([base]),
        )
        .await?;
    anyhow::ensure!(
        seen["count"].as_u64().unwrap_or(0) > 5,
        "the page's resource timing holds its requests: {seen}"
    );
    Ok(seen["outside"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect())
}

/// The check itself catches a request elsewhere: an image from another
/// origin is blocked by the policy and reported.
pub async fn outside_request_is_caught(browser: &Browser, base: &str) -> anyhow::Result<()> {
    browser
        .run(
            "const img = document.createElement('img');
             img.src = 'http://127.0.0.2:9/outside.png';
             document.body.append(img);
             return true;",
            json!([]),
        )
        .await?;
    browser
        .wait_for(
            "the policy to report the outside image",
            "window.__violations.length > 0",
        )
        .await?;
    let outside = outside_requests(browser, base).await?;
    anyhow::ensure!(
        outside.iter().any(|u| u.contains("127.0.0.2")),
        "the outside request is reported: {outside:?}"
    );
    Ok(())
}

/// Saves a screenshot of the page as `name` once its last refresh worked,
/// and fails if any refresh so far failed (a page that cannot read what the
/// API returns shows it only in the status line).
pub async fn shot(browser: &Browser, name: &str) -> anyhow::Result<()> {
    browser
        .wait_for(
            "a page refreshed without failure",
            "document.body.dataset.refreshed && !document.getElementById('live').classList.contains('failed')",
        )
        .await?;
    let failures = browser
        .run(
            "return document.body.dataset.refreshFailures || '0';",
            json!([]),
        )
        .await?;
    anyhow::ensure!(failures == "0", "{failures} refreshes failed before {name}");
    browser.screenshot(name).await?;
    Ok(())
}
