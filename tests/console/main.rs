//! The web console (`/ui`) in a real headless Chromium against real brokers:
//! every page is driven by clicks and typing as a user would, screenshots of
//! each are saved under `target/console-screenshots/`, and no request the page
//! makes may leave the server.
//!
//! Needs Debian's `chromium` and `chromium-driver`: `make test` installs them
//! (`tests/tools/ensure-chromium`).

mod cluster;
mod page;
mod single_node;
mod webdriver;
