//! A headless Chromium driven over W3C WebDriver by Debian's `chromedriver`.
//!
//! The few WebDriver commands the console test needs (navigate, find, click,
//! type, run a script, screenshot) are plain JSON over HTTP, sent with the
//! workspace's `reqwest`; a WebDriver crate would bring a second HTTP stack
//! for eight endpoints. Waits poll a condition in the page, never sleep a
//! fixed time.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};

/// How long a wait for the page, or chromedriver's start, may take.
pub const WAIT: Duration = Duration::from_secs(30);
/// The key WebDriver names a found element by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Installed by `tests/tools/ensure-chromium` (`make test` runs it first).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One browser session; chromedriver (and its Chromium) end on drop.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
    screenshots: PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium
    /// session in it, saving screenshots under `target/console-screenshots/<test>`.
    pub async fn start(test: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            Path::new(CHROMEDRIVER).exists(),
            "{CHROMEDRIVER} is missing: run tests/tools/ensure-chromium (make test does)"
        );
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            // Its own process group, which Chromium's processes inherit, so
            // ending the group ends every one of them (see `end`).
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("chromedriver starts")?;
        // reqwest is built with rustls and no provider of its own (docs/security.md).
        api::tls::install_default_provider();
        let http = reqwest::Client::builder().timeout(WAIT * 2).build()?;
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(reply) = ready
                && let Ok(status) = reply.json::<Value>().await
                && status["value"]["ready"] == true
            {
                break;
            }
            if started.elapsed() > WAIT {
                bail!("chromedriver not ready within {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,900", "--no-first-run", "--no-default-browser-check",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-default-apps", "--disable-extensions",
                ],
            },
        }}});
        let reply: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await?
            .json()
            .await?;
        let session = reply["value"]["sessionId"]
            .as_str()
            .with_context(|| format!("a WebDriver session: {reply}"))?
            .to_owned();
        let screenshots = target_dir().join("console-screenshots").join(test);
        std::fs::create_dir_all(&screenshots)?;
        Ok(Self {
            driver,
            http,
            session: format!("{base}/session/{session}"),
            screenshots,
        })
    }

    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.session);
        let mut request = self.http.request(method.clone(), &url);
        if method != reqwest::Method::GET {
            request = request.json(&body);
        }
        let reply: Value = request.send().await?.json().await?;
        if let Some(error) = reply["value"]["error"].as_str() {
            bail!("WebDriver {path}: {error}: {}", reply["value"]["message"]);
        }
        Ok(reply["value"].clone())
    }

    /// Opens `url` and waits for the document to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.command(reqwest::Method::POST, "/url", json!({"url": url}))
            .await?;
        Ok(())
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn run(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
    }

    async fn find(&self, css: &str) -> anyhow::Result<String> {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await
            .with_context(|| format!("element {css}"))?;
        Ok(found[ELEMENT]
            .as_str()
            .with_context(|| format!("an element id for {css}: {found}"))?
            .to_owned())
    }

    /// Clicks the element `css` selects, as a user would.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let id = self.find(css).await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await?;
        Ok(())
    }

    /// Replaces the text of the input `css` selects with `text`, typed.
    pub async fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let id = self.find(css).await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            json!({}),
        )
        .await?;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({"text": text}),
        )
        .await?;
        Ok(())
    }

    /// Polls the JavaScript expression `condition` until it is truthy and
    /// returns its value; the error names `what` and the page's error banner.
    pub async fn wait_for(&self, what: &str, condition: &str) -> anyhow::Result<Value> {
        let script = format!("return ({condition});");
        let started = Instant::now();
        loop {
            let value = self.run(&script, json!([])).await?;
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!("")
                && value != json!(0);
            if truthy {
                return Ok(value);
            }
            if started.elapsed() > WAIT {
                let banner = self
                    .run(
                        "return document.getElementById('error')?.hidden === false ? document.getElementById('error').textContent : '';",
                        json!([]),
                    )
                    .await
                    .unwrap_or_default();
                bail!("{what}: not within {WAIT:?} (error banner: {banner})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Ends the session, then chromedriver and whatever Chromium left.
    pub async fn quit(mut self) {
        let _ = self.http.delete(&self.session).send().await;
        self.end();
    }

    /// Kills chromedriver's process group: Chromium's helper processes can
    /// outlive a closed session and a killed driver.
    fn end(&mut self) {
        if matches!(self.driver.try_wait(), Ok(Some(_))) {
            return; // reaped: its id may belong to someone else by now
        }
        // `kill -KILL -PGID` without `--` kills every process the caller may
        // signal with procps-ng 4.0.2 (Debian 12's /bin/kill): it reads the
        // group as `-1`. `-s KILL -- -PGID` is parsed as meant.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    /// Saves a PNG of the viewport as `<name>.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self
            .command(reqwest::Method::GET, "/screenshot", Value::Null)
            .await?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().context("base64 screenshot")?)?;
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, bytes)?;
        Ok(path)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.end();
    }
}

/// The workspace's target directory (screenshots are artefacts, not sources).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}
