#!/usr/bin/env bash
# Publish -> delivery latency through a node that does not own the partition vs through its owner
# (issue 15): three nodes on one Redis, a topic with one partition and two subscriptions. Each
# sample starts two long pulls (waitSeconds 10), one on the owner and one on a non-owner, each on
# its own subscription, waits 50 ms so both wait, then publishes one message to the owner;
# latency = pull answered - publish sent, for the same message on both paths. SAMPLES (default 300) per side; BIN the directory of pubsubgo-server
# (default target/release; build with cargo build --release --locked --bin pubsubgo-server).
# Every port is a free loopback port picked at start (its own redis-server, never the shared 6379);
# a node that is not ready within 60 s stops the run with its log.
set -euo pipefail
here="$(cd "$(dirname "$0")/../../.." && pwd)"
bin="${BIN:-$here/target/release}"
out="$here/target/cross-node-wakeup"; mkdir -p "$out"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
redis_port=$(free_port)
declare -A client peer metrics
for i in 1 2 3; do client[$i]=$(free_port); peer[$i]=$(free_port); metrics[$i]=$(free_port); done
data=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$data" > "$out/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping > /dev/null 2>&1 && break; sleep 0.1; done
peers=""
for i in 1 2 3; do peers+="${peers:+,}$i=127.0.0.1:${peer[$i]}"; done
for i in 1 2 3; do
  env PUBSUB_STORAGE=redis PUBSUB_REDIS_HOST=127.0.0.1 PUBSUB_REDIS_PORT="$redis_port" PUBSUB_LOG_ACCESS=false \
    PUBSUB_NODE_ID=$i PUBSUB_PEERS="$peers" PUBSUB_DATA_DIR="$data/$i" \
    "$bin/pubsubgo-server" --host 127.0.0.1 --port "${client[$i]}" --peer-port "${peer[$i]}" \
    --metrics-port "${metrics[$i]}" --grpc-enabled false > "$out/node-$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2 3; do
  ready=""
  for _ in $(seq 600); do curl -fs "http://127.0.0.1:${client[$i]}/readyz" > /dev/null && ready=1 && break; sleep 0.1; done
  [[ -n $ready ]] || { echo "node $i not ready after 60 s; $out/node-$i.log:" >&2; tail -20 "$out/node-$i.log" >&2; exit 1; }
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores; redis on $redis_port"
CLIENT_PORTS="${client[1]},${client[2]},${client[3]}" METRICS_PORTS="${metrics[1]},${metrics[2]},${metrics[3]}" SAMPLES=${SAMPLES:-300} python3 - <<'PY'
import json, os, re, threading, time, urllib.request
ports = [int(p) for p in os.environ["CLIENT_PORTS"].split(",")]; samples = int(os.environ["SAMPLES"])
metrics = [int(p) for p in os.environ["METRICS_PORTS"].split(",")]
def peer_calls(i):
    """pubsubgo_peer_calls_total by call kind: routed calls node i sent to owners."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics[i - 1]}/metrics", timeout=10).read().decode()
    return {m[1]: float(m[2]) for m in re.finditer(r'^pubsubgo_peer_calls_total\{call="([^"]+)"\} (\S+)$', text, re.M)}
base = lambda i: f"http://127.0.0.1:{ports[i - 1]}"
def call(method, url, body=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read()
        return json.loads(text) if text else None
call("PUT", base(1) + "/v1/topics/wake", {"partitions": 1})
for sub in ("via-owner", "via-other"):
    call("PUT", base(1) + f"/v1/subscriptions/{sub}", {"topic": "wake"})
status = call("GET", base(1) + "/v1/cluster")
owner = next(p["node"] for p in status["partitions"] if p["topic"] == "wake")
other = next(i for i in (1, 2, 3) if i != owner)
lat = {"owner": [], "non-owner": []}
sides = (("owner", owner, "via-owner"), ("non-owner", other, "via-other"))
calls_before = peer_calls(other)
for n in range(samples):
    got = {}
    def pull(side, node, sub):
        r = call("POST", base(node) + f"/v1/subscriptions/{sub}:pull", {"maxMessages": 1, "waitSeconds": 10})
        got[side] = (time.perf_counter(), r)
    threads = [threading.Thread(target=pull, args=s) for s in sides]
    for t in threads: t.start()
    time.sleep(0.05)
    sent = time.perf_counter()
    call("POST", base(owner) + "/v1/topics/wake:publish", {"messages": [{"data": "eA=="}]})
    for t in threads: t.join()
    for side, node, sub in sides:
        at, r = got[side]
        msgs = (r or {}).get("receivedMessages") or []
        assert msgs, f"sample {n}: pull on node {node} returned nothing"
        call("POST", base(node) + f"/v1/subscriptions/{sub}:acknowledge", {"ackIds": [msgs[0]["ackId"]]})
        lat[side].append((at - sent) * 1000)
calls_after = peer_calls(other)
per_sample = {k: (v - calls_before.get(k, 0)) / samples for k, v in calls_after.items() if v > calls_before.get(k, 0)}
print("peer calls the non-owner sent per sample (its pull, its watch, its ack): "
      + ", ".join(f"{k} {v:.2f}" for k, v in sorted(per_sample.items())))
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
print(f"owner node {owner}, non-owner node {other}, {samples} samples each")
for side, xs in lat.items():
    print(f"{side:>9}: p50 {pct(xs, 50):.2f} ms  p99 {pct(xs, 99):.2f} ms  max {max(xs):.2f} ms")
verdict = pct(lat["non-owner"], 99) <= pct(lat["owner"], 99) + 5
print(f"target non-owner p99 <= owner p99 + 5 ms: {'met' if verdict else 'NOT met'}")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
