// Cluster: nodes (remove with confirmation), partition owners with epochs,
// and rebalance: a dry run first, then apply with confirmation.

import { api } from "../api.js";
import { h, fill, table, confirmAction } from "../dom.js";

export function mount(main, _param, ctx) {
  const summary = h("div", { id: "cluster-summary" });
  const nodes = h("div", { id: "cluster-nodes" });
  const owners = h("div", { id: "cluster-owners" });
  const plan = h("div", { id: "rebalance-plan" });
  const apply = h("button", { type: "button", class: "danger", id: "rebalance-apply", disabled: true, onclick: async () => {
    if (!(await confirmAction("Apply the rebalance? Moved partitions are briefly unavailable while their owners change.", "Apply rebalance"))) return;
    const reply = await ctx.act(() => api.rebalance(false), (r) => `rebalanced: ${r.moves.length} move(s)`);
    if (reply) { showPlan(reply); apply.disabled = true; }
  } }, "Apply…");
  const dry = h("button", { type: "button", id: "rebalance-dry-run", onclick: async () => {
    const reply = await ctx.act(() => api.rebalance(true), (r) => `dry run: ${r.moves.length} move(s) of ${r.partitions} partition(s)`);
    if (reply) { showPlan(reply); apply.disabled = false; }
  } }, "Dry run");

  function showPlan(reply) {
    fill(plan, h("p", { id: "rebalance-summary" }, `${reply.dryRun ? "Dry run" : "Applied"}: ${reply.moves.length} move(s) of ${reply.partitions} partition(s)`),
      table(["Topic", "#Partition", "From", "To", "#Epoch"],
        reply.moves.map((m) => [m.topic, m.partition, m.from ?? "–", String(m.to), m.epoch]),
        "every partition is where it belongs"));
  }

  main.append(h("h1", {}, "Cluster"), summary,
    h("h2", {}, "Nodes"), nodes,
    h("section", { class: "card" }, h("h2", {}, "Rebalance"),
      h("p", { class: "muted" }, "Moves every partition to its rendezvous owner over the live nodes. Look at the dry run before applying."),
      h("div", { class: "actions" }, dry, apply), plan),
    h("h2", {}, "Partition owners"), owners);

  async function refresh() {
    const s = await api.cluster();
    fill(summary, h("dl", { class: "props" },
      h("dt", {}, "This node"), h("dd", {}, `${s.nodeId} (${s.role})`),
      h("dt", {}, "Leader"), h("dd", { id: "cluster-leader" }, String(s.leader ?? "none")),
      h("dt", {}, "Term"), h("dd", {}, String(s.term)),
      h("dt", {}, "Voters"), h("dd", {}, s.voters.join(", ") || "–"),
      h("dt", {}, "Learners"), h("dd", {}, s.learners.join(", ") || "–"),
      h("dt", {}, "Log"), h("dd", {}, `last ${s.lastLogIndex ?? "–"}, committed ${s.commitIndex ?? "–"}, applied ${s.appliedIndex ?? "–"}`),
      h("dt", {}, "Health"), h("dd", { class: s.healthy ? "yes" : "no" }, s.healthy ? "healthy" : `unhealthy${s.reason ? `: ${s.reason}` : ""}`)));
    fill(nodes, table(["Node", "Peer address", "Live", "Voter", "#Partitions", ""],
      s.nodes.map((n) => [String(n.id), n.peerAddr, h("span", { class: n.live ? "yes" : "no" }, n.live ? "live" : "down"),
        n.voter ? "voter" : "learner", n.partitions,
        h("button", { type: "button", class: "secondary", onclick: async () => {
          if (!(await confirmAction(`Remove node ${n.id} from the cluster? Do this only before scaling it away; its partitions move to the live nodes.`, `Remove node ${n.id}`))) return;
          await ctx.act(() => api.removeNode(n.id), (r) => `removed node ${r.nodeId}: ${r.moves.length} move(s)`);
        } }, "Remove…")])));
    fill(owners, table(["Topic", "#Partition", "Owner", "#Epoch"],
      s.partitions.map((p) => [p.topic, p.partition, p.node === undefined ? "none" : String(p.node), p.epoch ?? "–"]),
      "no partitions"));
  }
  return { refresh };
}
