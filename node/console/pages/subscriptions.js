// Subscriptions: list with backlog, oldest unacked age and dead letters;
// create; one subscription's policies, per-partition lag, parked ordering
// keys, seek, and a pull-and-ack tester.

import { api, compact, withStats } from "../api.js";
import { h, fill, table, field, age, value, link, preview, confirmAction } from "../dom.js";

const PAGE_SIZE = 50;

export function mount(main, name, ctx) {
  return name ? detail(main, name, ctx) : list(main, ctx);
}

function list(main, ctx) {
  const rows = h("div", { id: "subscriptions-table" });
  const search = h("input", { type: "search", id: "subscription-search", placeholder: "filter by name or topic", "aria-label": "Filter subscriptions" });
  const form = h("form", { class: "inline", id: "create-subscription" },
    field("Name", h("input", { name: "name", required: true, pattern: "[A-Za-z][A-Za-z0-9._-]{2,254}", placeholder: "orders-billing" })),
    field("Topic", h("input", { name: "topic", required: true, placeholder: "orders" })),
    field("Type", h("select", { name: "type" }, h("option", { value: "" }, "shared (default)"), h("option", { value: "partitioned" }, "partitioned (consumer group)"))),
    field("Ack deadline (s)", h("input", { name: "ackDeadlineSeconds", type: "number", min: 10, max: 600, placeholder: "10" })),
    field("Start at", h("select", { name: "startPosition" }, h("option", { value: "" }, "latest (default)"), h("option", { value: "earliest" }, "earliest"))),
    field("Dead-letter topic", h("input", { name: "deadLetterTopic" })),
    field("Max delivery attempts", h("input", { name: "maxDeliveryAttempts", type: "number", min: 1 })),
    field("Min backoff", h("input", { name: "minimumBackoff", placeholder: "10s" })),
    field("Max backoff", h("input", { name: "maximumBackoff", placeholder: "600s" })),
    field("Push endpoint", h("input", { name: "endpoint", type: "url", placeholder: "https://…" })),
    h("label", { class: "check" }, h("input", { name: "ordering", type: "checkbox" }), "ordered by key"),
    h("button", { type: "submit" }, "Create subscription"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const sub = value(form, "name");
    const deadline = value(form, "ackDeadlineSeconds");
    const attempts = value(form, "maxDeliveryAttempts");
    const dlt = value(form, "deadLetterTopic");
    const endpoint = value(form, "endpoint");
    const body = compact({
      topic: value(form, "topic"),
      type: value(form, "type"),
      ackDeadlineSeconds: deadline ? Number(deadline) : undefined,
      startPosition: value(form, "startPosition"),
      enableMessageOrdering: value(form, "ordering") || undefined,
      retryPolicy: { minimumBackoff: value(form, "minimumBackoff"), maximumBackoff: value(form, "maximumBackoff") },
      deadLetterPolicy: dlt ? { deadLetterTopic: dlt, maxDeliveryAttempts: attempts ? Number(attempts) : undefined } : undefined,
      pushConfig: endpoint ? { endpoint } : undefined,
    });
    const created = await ctx.act(() => api.createSubscription(sub, body), `created subscription ${sub}`);
    if (created) form.reset();
  });
  search.addEventListener("input", () => refresh().catch(ctx.showError));
  main.append(h("h1", {}, "Subscriptions"),
    h("section", { class: "card" }, h("h2", {}, "Create a subscription"), form),
    h("div", { class: "actions" }, search), rows);

  async function refresh() {
    const page = await api.subscriptions(undefined, PAGE_SIZE);
    const filter = search.value.trim().toLowerCase();
    const shown = page.subscriptions.filter((s) => `${s.name} ${s.topic}`.toLowerCase().includes(filter));
    const subs = await withStats(shown, api.subscription);
    fill(rows, table(
      ["Subscription", "Topic", "Type", "#Backlog", "#Outstanding", "Oldest unacked", "#Dead-lettered"],
      subs.map((s) => [
        link(`#/subscriptions/${encodeURIComponent(s.name)}`, s.name),
        link(`#/topics/${encodeURIComponent(s.topic)}`, s.topic),
        s.pushConfig ? "push" : s.type,
        h("td", { class: "num", dataset: { backlog: s.name } }, String(s.stats.backlogMessages)),
        s.stats.outstandingMessages, age(s.stats.oldestUnackedAgeSeconds), s.stats.deadLetteredMessages,
      ]),
      filter ? "no subscription matches" : "no subscriptions yet",
    ), page.nextPageToken ? h("p", { class: "muted" }, `showing the first ${PAGE_SIZE}`) : null);
  }
  return { refresh };
}

function detail(main, name, ctx) {
  const props = h("div", { id: "subscription-props" });
  const parts = h("div", { id: "subscription-partitions" });
  const parked = h("div", { id: "subscription-parked" });
  const pulled = h("div", { id: "pulled" });
  let received = [];
  let view = "text";

  const seek = h("form", { class: "inline", id: "seek" },
    field("To", h("select", { name: "position" }, h("option", { value: "earliest" }, "earliest"),
      h("option", { value: "latest" }, "latest"), h("option", { value: "time" }, "a time"))),
    field("Time (RFC 3339)", h("input", { name: "time", placeholder: "2026-01-01T00:00:00Z" })),
    h("button", { type: "submit" }, "Seek"));
  seek.addEventListener("submit", async (e) => {
    e.preventDefault();
    const position = value(seek, "position");
    const body = position === "time" ? { time: value(seek, "time") } : { position };
    if (!(await confirmAction(`Seek ${name} to ${body.time || position}? Acknowledged messages may be delivered again.`, "Seek"))) return;
    await ctx.act(() => api.seek(name, body), `seeked ${name}`);
  });

  const pull = h("form", { class: "inline", id: "pull" },
    field("Max messages", h("input", { name: "maxMessages", type: "number", min: 1, max: 1000, value: 10 })),
    field("Data view", h("select", { name: "view", onchange: (e) => { view = e.target.value; render(); } },
      h("option", { value: "text" }, "text"), h("option", { value: "json" }, "JSON"), h("option", { value: "hex" }, "hex"))),
    h("button", { type: "submit" }, "Pull"),
    h("button", { type: "button", id: "ack-all", onclick: () => settle("ack") }, "Ack all pulled"),
    h("button", { type: "button", id: "nack-all", class: "secondary", onclick: () => settle("nack") }, "Nack all pulled"));
  pull.addEventListener("submit", async (e) => {
    e.preventDefault();
    const reply = await ctx.act(() => api.pull(name, Number(value(pull, "maxMessages") || 10)),
      (r) => `pulled ${r.receivedMessages?.length || 0} message(s)`);
    if (reply) { received = reply.receivedMessages || []; render(); }
  });

  async function settle(kind) {
    const ids = received.map((r) => r.ackId);
    if (!ids.length) { ctx.showError(new Error("nothing pulled to settle")); return; }
    const done = await ctx.act(() => (kind === "ack" ? api.ack(name, ids) : api.nack(name, ids, "nacked from the console")),
      `${kind === "ack" ? "acknowledged" : "nacked"} ${ids.length} message(s)`);
    if (done) { received = []; render(); }
  }

  function render() {
    fill(pulled, table(["Message", "#Attempt", "Ordering key", "Attributes", "Data"],
      received.map((r) => [r.message.messageId, r.deliveryAttempt, r.message.orderingKey || "",
        Object.entries(r.message.attributes || {}).map(([k, v]) => `${k}=${v}`).join(", "),
        h("pre", { class: "data" }, preview(r.message.data, view))]),
      "nothing pulled"));
  }
  render();

  const del = h("button", { type: "button", class: "danger", id: "delete-subscription", onclick: async () => {
    if (!(await confirmAction(`Delete subscription ${name}? Its backlog and dead letters go with it.`, "Delete subscription"))) return;
    await ctx.act(() => api.deleteSubscription(name), `deleted subscription ${name}`, "#/subscriptions");
  } }, "Delete subscription…");

  main.append(h("h1", {}, `Subscription ${name}`), props,
    h("h2", {}, "Lag per partition"), parts,
    h("h2", {}, "Parked ordering keys"), parked,
    h("section", { class: "card" }, h("h2", {}, "Pull and ack"), pull, pulled),
    h("section", { class: "card" }, h("h2", {}, "Seek"), seek),
    h("div", { class: "actions" }, link("#/subscriptions", "← all subscriptions"),
      link(`#/dead-letters/${encodeURIComponent(name)}`, "dead letters"), del));

  async function refresh() {
    const s = await api.subscription(name);
    const st = s.stats;
    const dlp = s.deadLetterPolicy;
    const rp = s.retryPolicy;
    fill(props, h("dl", { class: "props" },
      h("dt", {}, "Topic"), h("dd", {}, link(`#/topics/${encodeURIComponent(s.topic)}`, s.topic)),
      h("dt", {}, "Type"), h("dd", {}, s.type),
      h("dt", {}, "Backlog"), h("dd", { id: "sub-backlog" }, String(st.backlogMessages)),
      h("dt", {}, "Outstanding"), h("dd", { id: "sub-outstanding" }, String(st.outstandingMessages)),
      h("dt", {}, "Oldest unacked"), h("dd", {}, age(st.oldestUnackedAgeSeconds)),
      h("dt", {}, "Dead-lettered"), h("dd", { id: "sub-dead-lettered" }, String(st.deadLetteredMessages)),
      h("dt", {}, "Expired"), h("dd", {}, String(st.expiredMessages)),
      h("dt", {}, "Ack deadline"), h("dd", {}, `${s.ackDeadlineSeconds} s`),
      h("dt", {}, "Ordering"), h("dd", {}, s.enableMessageOrdering ? "by ordering key" : "off"),
      h("dt", {}, "Delivery mode"), h("dd", {}, s.deliveryMode),
      h("dt", {}, "Retry policy"), h("dd", {}, rp ? `${rp.minimumBackoff || "default"} – ${rp.maximumBackoff || "default"}` : "default"),
      h("dt", {}, "Dead letters"), h("dd", {}, dlp ? `to ${dlp.deadLetterTopic} after ${dlp.maxDeliveryAttempts ?? "default"} attempts` : "none"),
      s.pushConfig && [h("dt", {}, "Push endpoint"), h("dd", {}, `${s.pushConfig.endpoint} (max outstanding ${s.pushConfig.maxOutstanding}${s.pushConfig.secretSet ? ", signed" : ""})`)],
      s.group && [h("dt", {}, "Consumer group"), h("dd", {}, link("#/groups", `generation ${s.group.generation}, ${s.group.members.length} member(s)`))],
      h("dt", {}, "Created"), h("dd", {}, s.createTime)));
    pull.hidden = Boolean(s.pushConfig) || s.type === "partitioned";
    fill(parts, table(["#Partition", "#Backlog", "#Outstanding", "Oldest unacked"],
      (st.partitions || []).map((p) => [p.partition, p.backlogMessages, p.outstandingMessages, age(p.oldestUnackedAgeSeconds)])));
    fill(parked, table(["Ordering key", ""],
      (st.parkedOrderingKeys || []).map((key) => [key, h("button", { type: "button", class: "secondary",
        onclick: () => ctx.act(() => api.resume(name, key), `resumed ${key}`) }, "Resume")]),
      "none parked"));
  }
  return { refresh };
}
