// Topics: list with search and paging, create; one topic's settings, stats
// per partition, a test publish, and delete with confirmation.

import { api, compact, withStats } from "../api.js";
import { h, fill, table, field, bytes, value, link, toBase64, parseAttributes, confirmAction } from "../dom.js";

const PAGE_SIZE = 50;

export function mount(main, name, ctx) {
  return name ? detail(main, name, ctx) : list(main, ctx);
}

function list(main, ctx) {
  const search = h("input", { type: "search", id: "topic-search", placeholder: "filter by name", "aria-label": "Filter topics by name" });
  const rows = h("div", { id: "topics-table" });
  const pager = h("div", { class: "actions" });
  const tokens = [undefined]; // page tokens of the pages seen, for Previous
  let pageIndex = 0;
  let nextToken;
  const form = h("form", { class: "inline", id: "create-topic" },
    field("Name", h("input", { name: "name", required: true, pattern: "[A-Za-z][A-Za-z0-9._-]{2,254}", placeholder: "orders" })),
    field("Partitions", h("input", { name: "partitions", type: "number", min: 1, max: 1024, placeholder: "1" })),
    field("Retention (max age)", h("input", { name: "maxAge", placeholder: "604800s" })),
    field("Ack level", h("select", { name: "ackLevel" },
      h("option", { value: "" }, "default"), h("option", { value: "leader" }, "leader"),
      h("option", { value: "replicated:1" }, "replicated:1"), h("option", { value: "fsynced" }, "fsynced"),
      h("option", { value: "memory" }, "memory"))),
    field("Compression", h("select", { name: "compression" },
      h("option", { value: "" }, "none (default)"), h("option", { value: "snappy" }, "snappy"),
      h("option", { value: "lz4" }, "lz4"))),
    h("button", { type: "submit" }, "Create topic"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const topic = value(form, "name");
    const partitions = value(form, "partitions");
    const body = compact({
      partitions: partitions ? Number(partitions) : undefined,
      retention: { maxAge: value(form, "maxAge") },
      ackLevel: value(form, "ackLevel"),
      compression: value(form, "compression"),
    });
    const created = await ctx.act(() => api.createTopic(topic, body), `created topic ${topic}`);
    if (created) form.reset();
  });
  search.addEventListener("input", () => refresh().catch(ctx.showError));
  const prev = h("button", { type: "button", class: "secondary", onclick: () => { pageIndex -= 1; refresh(); } }, "Previous");
  const next = h("button", { type: "button", class: "secondary", onclick: () => { tokens[pageIndex + 1] = nextToken; pageIndex += 1; refresh(); } }, "Next");
  pager.append(prev, next);
  main.append(h("h1", {}, "Topics"),
    h("section", { class: "card" }, h("h2", {}, "Create a topic"), form),
    h("div", { class: "actions" }, search), rows, pager);

  async function refresh() {
    const page = await api.topics(tokens[pageIndex], PAGE_SIZE);
    nextToken = page.nextPageToken;
    prev.disabled = pageIndex === 0;
    next.disabled = !nextToken;
    const filter = search.value.trim().toLowerCase();
    const shown = page.topics.filter((t) => t.name.toLowerCase().includes(filter));
    const topics = await withStats(shown, api.topic);
    fill(rows, table(
      ["Topic", "#Partitions", "Ack level", "Compression", "#Messages published", "#Bytes published", "Subscriptions"],
      topics.map((t) => [
        link(`#/topics/${encodeURIComponent(t.name)}`, t.name), t.partitions, t.ackLevel, t.compression,
        h("td", { class: "num", dataset: { topicPublished: t.name } }, String(t.stats?.messagesPublished ?? 0)),
        h("td", { class: "num" }, bytes(t.stats?.bytesPublished ?? 0)),
        (t.stats?.subscriptions || []).map((s) => s.name).join(", "),
      ]),
      filter ? "no topic matches" : "no topics yet",
    ));
  }
  return { refresh };
}

function detail(main, name, ctx) {
  const props = h("div", { id: "topic-props" });
  const parts = h("div", { id: "topic-partitions" });
  const subs = h("div", { id: "topic-subscriptions" });
  const result = h("div", { id: "publish-result", class: "muted" });
  const form = h("form", { class: "inline", id: "publish" },
    field("Data", h("textarea", { name: "data", placeholder: "hello" })),
    field("Attributes (key=value per line)", h("textarea", { name: "attributes" })),
    field("Ordering key", h("input", { name: "orderingKey" })),
    field("Priority (0–9)", h("input", { name: "priority", type: "number", min: 0, max: 9 })),
    field("Deliver after", h("input", { name: "deliverAfter", placeholder: "30s" })),
    field("TTL", h("input", { name: "ttl", placeholder: "1h" })),
    field("Copies", h("input", { name: "copies", type: "number", min: 1, max: 1000, value: 1 })),
    h("button", { type: "submit" }, "Publish"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let message;
    try {
      const priority = value(form, "priority");
      message = compact({
        data: toBase64(form.elements.data.value),
        attributes: parseAttributes(form.elements.attributes.value),
        orderingKey: value(form, "orderingKey"),
        priority: priority === undefined ? undefined : Number(priority),
        deliverAfter: value(form, "deliverAfter"),
        ttl: value(form, "ttl"),
      });
    } catch (err) {
      ctx.showError(err);
      return;
    }
    const copies = Math.max(1, Number(value(form, "copies") || 1));
    const reply = await ctx.act(() => api.publish(name, Array.from({ length: copies }, () => message)),
      (r) => `published ${r.messageIds.length} message(s)`);
    if (reply) fill(result, `ids ${reply.messageIds.join(", ")} · ack level ${reply.ackLevel}`);
  });
  const del = h("button", { type: "button", class: "danger", id: "delete-topic", onclick: async () => {
    if (!(await confirmAction(`Delete topic ${name} and all its subscriptions? This cannot be undone.`, "Delete topic"))) return;
    await ctx.act(() => api.deleteTopic(name), `deleted topic ${name}`, "#/topics");
  } }, "Delete topic…");
  main.append(h("h1", {}, `Topic ${name}`), props,
    h("h2", {}, "Partitions"), parts,
    h("h2", {}, "Subscriptions"), subs,
    h("section", { class: "card" }, h("h2", {}, "Publish a test message"), form, result),
    h("div", { class: "actions" }, link("#/topics", "← all topics"), del));

  async function refresh() {
    const t = await api.topic(name);
    const r = t.retention || {};
    fill(props, h("dl", { class: "props" },
      h("dt", {}, "Partitions"), h("dd", {}, t.partitions),
      h("dt", {}, "Retention"), h("dd", {}, [r.maxAge && `max age ${r.maxAge}`, r.maxBytesPerPartition && `${bytes(r.maxBytesPerPartition)} per partition`, r.maxMessagesPerPartition && `${r.maxMessagesPerPartition} messages per partition`, r.discard && `discard ${r.discard}`].filter(Boolean).join(", ") || "–"),
      h("dt", {}, "Max message size"), h("dd", {}, bytes(t.maxMessageBytes)),
      h("dt", {}, "Dedup window"), h("dd", {}, t.dedupWindow),
      h("dt", {}, "Ack level"), h("dd", {}, t.ackLevel),
      h("dt", {}, "Compression"), h("dd", {}, t.compression),
      h("dt", {}, "Created"), h("dd", {}, t.createTime),
      h("dt", {}, "Published"), h("dd", { id: "topic-published" }, `${t.stats.messagesPublished} messages, ${bytes(t.stats.bytesPublished)}`)));
    fill(parts, table(["#Partition", "#Start offset", "#End offset", "#Messages held"],
      t.stats.partitions.map((p) => [p.partition, p.startOffset, p.endOffset, p.endOffset - p.startOffset])));
    fill(subs, table(["Subscription", "#Backlog"],
      t.stats.subscriptions.map((s) => [link(`#/subscriptions/${encodeURIComponent(s.name)}`, s.name), s.backlogMessages]),
      "no subscriptions"));
  }
  return { refresh };
}
