// Dead letters: the subscriptions that dead-letter, and one subscription's
// dead letters (attempts, last error, time, data as text/JSON/hex) with
// redrive by filters at a rate.

import { api, all, compact, withStats } from "../api.js";
import { h, fill, table, field, value, link, preview, confirmAction } from "../dom.js";

export function mount(main, name, ctx) {
  return name ? detail(main, name, ctx) : list(main);
}

function list(main) {
  const rows = h("div", { id: "dead-letter-subscriptions" });
  main.append(h("h1", {}, "Dead letters"),
    h("p", { class: "muted" }, "Subscriptions with a dead-letter policy or dead-lettered messages."), rows);
  async function refresh() {
    const subs = (await withStats(await all(api.subscriptions, "subscriptions"), api.subscription))
      .filter((s) => s.deadLetterPolicy || s.stats.deadLetteredMessages > 0);
    fill(rows, table(["Subscription", "Dead-letter topic", "#Max attempts", "#Dead-lettered"],
      subs.map((s) => [link(`#/dead-letters/${encodeURIComponent(s.name)}`, s.name),
        s.deadLetterPolicy?.deadLetterTopic || "–", s.deadLetterPolicy?.maxDeliveryAttempts ?? "–",
        h("td", { class: "num", dataset: { deadLettered: s.name } }, String(s.stats.deadLetteredMessages))]),
      "no subscription dead-letters"));
  }
  return { refresh };
}

function detail(main, name, ctx) {
  const rows = h("div", { id: "dead-letters" });
  const summary = h("p", { id: "dead-letter-summary", class: "muted" });
  let view = "text";
  let max = 100;
  const browse = h("form", { class: "inline" },
    field("Show at most", h("input", { name: "max", type: "number", min: 1, max: 1000, value: max, onchange: (e) => { max = Number(e.target.value) || 100; } })),
    field("Data view", h("select", { name: "view", onchange: (e) => { view = e.target.value; refresh().catch(ctx.showError); } },
      h("option", { value: "text" }, "text"), h("option", { value: "json" }, "JSON"), h("option", { value: "hex" }, "hex"))));
  browse.addEventListener("submit", (e) => e.preventDefault());
  const redrive = h("form", { class: "inline", id: "redrive" },
    field("Max messages", h("input", { name: "maxMessages", type: "number", min: 1, max: 10000, placeholder: "1000" })),
    field("Min attempts", h("input", { name: "minAttempts", type: "number", min: 1 })),
    field("Published after", h("input", { name: "publishedAfter", placeholder: "RFC 3339" })),
    field("Published before", h("input", { name: "publishedBefore", placeholder: "RFC 3339" })),
    field("Rate (msg/s)", h("input", { name: "ratePerSecond", type: "number", min: 1, max: 10000, placeholder: "100" })),
    h("button", { type: "submit" }, "Redrive"));
  redrive.addEventListener("submit", async (e) => {
    e.preventDefault();
    const num = (k) => (value(redrive, k) === undefined ? undefined : Number(value(redrive, k)));
    const body = compact({
      maxMessages: num("maxMessages"), minAttempts: num("minAttempts"),
      publishedAfter: value(redrive, "publishedAfter"), publishedBefore: value(redrive, "publishedBefore"),
      ratePerSecond: num("ratePerSecond"),
    });
    if (!(await confirmAction(`Redrive dead letters of ${name} back to it?`, "Redrive"))) return;
    await ctx.act(() => api.redrive(name, body), (r) => `redrove ${r.redriven} message(s)`);
  });
  main.append(h("h1", {}, `Dead letters of ${name}`), summary, browse, rows,
    h("section", { class: "card" }, h("h2", {}, "Redrive"), redrive),
    h("div", { class: "actions" }, link("#/dead-letters", "← all"), link(`#/subscriptions/${encodeURIComponent(name)}`, "subscription")));

  async function refresh() {
    const reply = await api.deadLetters(name, max);
    const letters = reply.deadLetters || [];
    fill(summary, `${letters.length} shown`);
    fill(rows, table(["Message", "#Attempts", "Last error", "Dead-lettered at", "Attributes", "Data"],
      letters.map((d) => [d.message.messageId, d.deliveryAttempts, d.reason || "–", d.deadLetterTime,
        Object.entries(d.message.attributes || {}).map(([k, v]) => `${k}=${v}`).join(", "),
        h("pre", { class: "data" }, preview(d.message.data, view))]),
      "no dead letters"));
  }
  return { refresh };
}
