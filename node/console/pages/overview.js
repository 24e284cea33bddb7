// Overview: cluster health, nodes, publish rate (from the topics' published
// counts between two polls) and the subscriptions most behind.

import { api, all, withStats } from "../api.js";
import { h, fill, table, age, link } from "../dom.js";

export function mount(main) {
  const stats = h("div", { class: "stats", id: "overview-stats" });
  const nodes = h("div", { id: "overview-nodes" });
  const behind = h("div", { id: "overview-behind" });
  main.append(
    h("h1", {}, "Overview"),
    stats,
    h("h2", {}, "Nodes"), nodes,
    h("h2", {}, "Subscriptions most behind"), behind,
  );
  let last = null; // { at, published }

  async function refresh() {
    const [status, topicNames, subNames] = await Promise.all([
      api.cluster(),
      all(api.topics, "topics"),
      all(api.subscriptions, "subscriptions"),
    ]);
    const [topicList, subs] = await Promise.all([
      withStats(topicNames, api.topic),
      withStats(subNames, api.subscription),
    ]);
    const published = topicList.reduce((n, t) => n + (t.stats?.messagesPublished || 0), 0);
    const now = Date.now();
    let rate = "–";
    if (last && now > last.at) {
      rate = `${Math.max(0, ((published - last.published) * 1000) / (now - last.at)).toFixed(1)}/s`;
    }
    last = { at: now, published };
    const live = status.nodes.filter((n) => n.live).length;
    const stat = (label, value, id) =>
      h("div", { class: "stat" }, h("div", { class: "label" }, label), h("div", { class: "value", id }, value));
    fill(stats,
      stat("Health", status.healthy ? "healthy" : "unhealthy", "stat-health"),
      stat("Leader", status.leader ?? "none", "stat-leader"),
      stat("Term", status.term, "stat-term"),
      stat("Nodes live", `${live} / ${status.nodes.length}`, "stat-nodes"),
      stat("Voters", status.voters.length, "stat-voters"),
      stat("This node", `${status.nodeId} (${status.role})`, "stat-self"),
      stat("Topics", topicNames.length, "stat-topics"),
      stat("Subscriptions", subNames.length, "stat-subscriptions"),
      stat("Publish rate", rate, "stat-rate"),
    );
    fill(nodes, table(
      ["Node", "Peer address", "Live", "Voter", "Leader", "#Partitions"],
      status.nodes.map((n) => [
        String(n.id), n.peerAddr,
        h("span", { class: n.live ? "yes" : "no" }, n.live ? "live" : "down"),
        n.voter ? "voter" : "learner",
        n.id === status.leader ? "leader" : "",
        n.partitions,
      ]),
    ));
    const ranked = subs
      .filter((s) => s.stats)
      .sort((a, b) => b.stats.backlogMessages - a.stats.backlogMessages
        || (b.stats.oldestUnackedAgeSeconds || 0) - (a.stats.oldestUnackedAgeSeconds || 0))
      .slice(0, 10);
    fill(behind, table(
      ["Subscription", "Topic", "#Backlog", "#Outstanding", "Oldest unacked", "#Dead-lettered"],
      ranked.map((s) => [
        link(`#/subscriptions/${encodeURIComponent(s.name)}`, s.name), s.topic,
        s.stats.backlogMessages, s.stats.outstandingMessages,
        age(s.stats.oldestUnackedAgeSeconds), s.stats.deadLetteredMessages,
      ]),
      "no subscriptions",
    ));
  }
  return { refresh };
}
