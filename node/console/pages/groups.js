// Consumer groups: each partitioned subscription's generation, members with
// their heartbeat age and partitions.

import { api, all, withStats } from "../api.js";
import { h, fill, table, age, since, link } from "../dom.js";

export function mount(main) {
  const groups = h("div", { id: "groups" });
  main.append(h("h1", {}, "Consumer groups"),
    h("p", { class: "muted" }, "Partitioned subscriptions: each partition goes to one member at a time."), groups);
  async function refresh() {
    const subs = (await withStats(await all(api.subscriptions, "subscriptions"), api.subscription))
      .filter((s) => s.type === "partitioned");
    if (!subs.length) { fill(groups, h("p", { class: "muted" }, "no partitioned subscriptions")); return; }
    fill(groups, subs.map((s) => {
      const g = s.group || { generation: 0, members: [] };
      const owned = new Set(g.members.flatMap((m) => m.partitions));
      const unassigned = s.stats.partitions.map((p) => p.partition).filter((p) => !owned.has(p));
      return h("section", { class: "card", dataset: { group: s.name } },
        h("h2", {}, link(`#/subscriptions/${encodeURIComponent(s.name)}`, s.name), ` · generation ${g.generation} · ${g.members.length} member(s)`),
        table(["Member", "Partitions", "Last heartbeat", "Session timeout"],
          g.members.map((m) => [m.memberId, m.partitions.join(", ") || "none",
            `${age(since(m.lastHeartbeatTime))} ago`, `${m.sessionTimeoutSeconds} s`]),
          "no members"),
        unassigned.length ? h("p", { class: "muted" }, `unassigned partitions: ${unassigned.join(", ")}`) : null);
    }));
  }
  return { refresh };
}
