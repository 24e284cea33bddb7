// The console's shell: hash routing between pages, the error banner, and
// live refresh by polling the API every POLL_MS while the tab is visible.

import { Problem } from "./api.js";
import * as overview from "./pages/overview.js";
import * as topics from "./pages/topics.js";
import * as subscriptions from "./pages/subscriptions.js";
import * as deadLetters from "./pages/dead_letters.js";
import * as groups from "./pages/groups.js";
import * as cluster from "./pages/cluster.js";

const POLL_MS = 2000;
const PAGES = {
  overview, topics, subscriptions, "dead-letters": deadLetters, groups, cluster,
};

let current = null; // { refresh }
let timer = null;
let paused = false;
let generation = 0;
let pendingNotice = null;

/** Shows an error (a Problem with its title and detail) in the banner. */
export function showError(err) {
  const banner = document.getElementById("error");
  const title = err instanceof Problem ? err.title : "Error";
  const detail = err instanceof Problem
    ? `${err.detail}${err.code ? ` (${err.code}, HTTP ${err.status})` : ""}`
    : String(err && err.message ? err.message : err);
  document.getElementById("error-title").textContent = title;
  document.getElementById("error-detail").textContent = detail;
  banner.hidden = false;
  document.getElementById("notice").hidden = true;
}

function clearError() {
  document.getElementById("error").hidden = true;
}

/** Shows a short success notice. */
function notify(text) {
  const notice = document.getElementById("notice");
  notice.textContent = text;
  notice.hidden = false;
}

/**
 * Runs a user action: clears the old error, shows a failure in the banner,
 * refreshes the page after success, or opens `then` (a hash) instead when the
 * action removed what the page shows. Returns the action's result.
 */
async function act(fn, done, then) {
  clearError();
  document.getElementById("notice").hidden = true;
  try {
    const result = await fn();
    const text = done && (typeof done === "function" ? done(result) : done);
    if (then) {
      pendingNotice = text; // shown on the page it opens
      navigate(then);
    } else {
      await refresh();
      if (text) notify(text);
    }
    return result;
  } catch (err) {
    showError(err);
    return undefined;
  }
}

function navigate(hash) {
  location.hash = hash;
}

const ctx = { act, showError, notify, navigate };

async function refresh() {
  if (!current) return;
  const mine = generation;
  const live = document.getElementById("live");
  try {
    await current.refresh();
    if (mine !== generation) return;
    live.textContent = `${paused ? "paused" : "live"} · updated ${new Date().toLocaleTimeString()}`;
    live.classList.remove("failed");
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  } catch (err) {
    if (mine !== generation) return;
    live.textContent = `refresh failed: ${err instanceof Problem ? `${err.title}: ${err.detail}` : err.message}`;
    live.classList.add("failed");
    document.body.dataset.refreshFailures = String(Number(document.body.dataset.refreshFailures || 0) + 1);
    console.error("refresh failed", err);
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    if (!paused && !document.hidden) await refresh();
    schedule();
  }, POLL_MS);
}

async function route() {
  const [, name = "overview", ...rest] = location.hash.replace(/^#/, "").split("/");
  const page = PAGES[name] || overview;
  const pageName = PAGES[name] ? name : "overview";
  generation += 1;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === pageName) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const main = document.getElementById("page");
  main.replaceChildren();
  main.dataset.ready = "false";
  main.dataset.page = pageName;
  const param = rest.length ? decodeURIComponent(rest.join("/")) : undefined;
  current = page.mount(main, param, ctx);
  document.title = `${main.querySelector("h1")?.textContent || "Console"} · PubSubGo`;
  await refresh();
  main.dataset.ready = "true";
  schedule();
}

function start() {
  document.getElementById("error-close").addEventListener("click", clearError);
  const pause = document.getElementById("pause");
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(paused));
    if (!paused) refresh();
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden && !paused) refresh(); });
  window.addEventListener("hashchange", () => {
    clearError();
    document.getElementById("notice").hidden = true;
    if (pendingNotice) notify(pendingNotice);
    pendingNotice = null;
    route();
  });
  route();
}

start();
