// The public REST API (docs/api.md), as the console calls it: same origin,
// JSON in and out, every error an application/problem+json thrown as Problem.

/** An API error: RFC 9457 problem with the broker's stable code. */
export class Problem extends Error {
  constructor(problem, status) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.title = problem.title || `HTTP ${status}`;
    this.detail = problem.detail || "";
    this.code = problem.code || "";
    this.status = problem.status || status;
    this.retryable = problem.retryable === true;
  }
}

const enc = encodeURIComponent;

async function call(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let json = {};
  if (text) {
    try { json = JSON.parse(text); } catch { json = { title: `HTTP ${response.status}`, detail: text.slice(0, 300) }; }
  }
  if (!response.ok) throw new Problem(json, response.status);
  return json;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** Leaves out undefined fields, so the API's defaults apply. */
export function compact(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const inner = compact(v);
      if (Object.keys(inner).length) out[k] = inner;
    } else {
      out[k] = v;
    }
  }
  return out;
}

export const api = {
  cluster: () => call("GET", "/v1/cluster"),
  rebalance: (dryRun) => call("POST", "/v1/cluster:rebalance", { dryRun }),
  removeNode: (id) => call("DELETE", `/v1/cluster/nodes/${enc(id)}`),

  topics: (pageToken, pageSize = 100) => call("GET", `/v1/topics${query({ pageSize, pageToken })}`),
  topic: (name) => call("GET", `/v1/topics/${enc(name)}`),
  createTopic: (name, body) => call("PUT", `/v1/topics/${enc(name)}`, body),
  deleteTopic: (name) => call("DELETE", `/v1/topics/${enc(name)}`),
  publish: (name, messages) => call("POST", `/v1/topics/${enc(name)}:publish`, { messages }),

  subscriptions: (pageToken, pageSize = 100) =>
    call("GET", `/v1/subscriptions${query({ pageSize, pageToken })}`),
  subscription: (name) => call("GET", `/v1/subscriptions/${enc(name)}`),
  createSubscription: (name, body) => call("PUT", `/v1/subscriptions/${enc(name)}`, body),
  deleteSubscription: (name) => call("DELETE", `/v1/subscriptions/${enc(name)}`),
  pull: (name, maxMessages) =>
    call("POST", `/v1/subscriptions/${enc(name)}:pull`, { maxMessages, waitSeconds: 0 }),
  ack: (name, ackIds) => call("POST", `/v1/subscriptions/${enc(name)}:acknowledge`, { ackIds }),
  nack: (name, ackIds, reason) =>
    call("POST", `/v1/subscriptions/${enc(name)}:nack`, compact({ ackIds, reason })),
  seek: (name, body) => call("POST", `/v1/subscriptions/${enc(name)}:seek`, body),
  resume: (name, orderingKey) =>
    call("POST", `/v1/subscriptions/${enc(name)}:resumeOrderingKey`, { orderingKey }),
  deadLetters: (name, maxMessages) =>
    call("GET", `/v1/subscriptions/${enc(name)}:deadLetters${query({ maxMessages })}`),
  redrive: (name, body) => call("POST", `/v1/subscriptions/${enc(name)}:redrive`, body),
};

/** Every page of a list (topics or subscriptions), up to `limit` items. */
export async function all(list, key, limit = 1000) {
  const items = [];
  let token;
  do {
    const page = await list(token);
    items.push(...(page[key] || []));
    token = page.nextPageToken;
  } while (token && items.length < limit);
  return items;
}

/**
 * The lists carry no stats, so each item (at most `limit` of them) is fetched
 * on its own; one deleted in between is left out.
 */
export async function withStats(items, get, limit = 100) {
  const got = await Promise.all(items.slice(0, limit).map((item) => get(item.name).catch((err) => {
    if (err instanceof Problem && err.status === 404) return null;
    throw err;
  })));
  return got.filter(Boolean);
}
