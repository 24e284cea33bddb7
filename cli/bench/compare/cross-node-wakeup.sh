#!/usr/bin/env bash
# Publish -> delivery latency through a node that does not own the partition vs through its owner
# (issue 15): three nodes on one Redis, a topic with one partition and two subscriptions. Each
# sample starts two long pulls (waitSeconds 10), one on the owner and one on a non-owner, each on
# its own subscription, waits 50 ms so both wait, then publishes one message to the owner;
# latency = pull answered - publish sent, for the same message on both paths. SAMPLES (default 300) per side; BIN the directory of pubsubgo-server
# (default target/release; build with cargo build --release --locked --bin pubsubgo-server).
# PORT (default 18300): Redis on PORT, node i's client/peer/metrics ports on PORT+10i+1..3.
set -euo pipefail
here="$(cd "$(dirname "$0")/../../.." && pwd)"
bin="${BIN:-$here/target/release}"
out="$here/target/cross-node-wakeup"; mkdir -p "$out"
port=${PORT:-18300}
data=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
redis-server --port "$port" --save '' --appendonly no --dir "$data" > "$out/redis.log" 2>&1 &
pids+=($!)
peers=""
for i in 1 2 3; do peers+="${peers:+,}$i=127.0.0.1:$((port + 10 * i + 2))"; done
for i in 1 2 3; do
  env PUBSUB_STORAGE=redis PUBSUB_REDIS_HOST=127.0.0.1 PUBSUB_REDIS_PORT="$port" PUBSUB_LOG_ACCESS=false \
    PUBSUB_NODE_ID=$i PUBSUB_PEERS="$peers" PUBSUB_DATA_DIR="$data/$i" \
    "$bin/pubsubgo-server" --host 127.0.0.1 --port $((port + 10 * i + 1)) --peer-port $((port + 10 * i + 2)) \
    --metrics-port $((port + 10 * i + 3)) --grpc-enabled false > "$out/node-$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2 3; do
  for _ in $(seq 600); do curl -fs "http://127.0.0.1:$((port + 10 * i + 1))/readyz" > /dev/null && break; sleep 0.1; done
done
PORT=$port SAMPLES=${SAMPLES:-300} python3 - <<'PY'
import json, os, threading, time, urllib.request
port = int(os.environ["PORT"]); samples = int(os.environ["SAMPLES"])
base = lambda i: f"http://127.0.0.1:{port + 10 * i + 1}"
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
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
print(f"owner node {owner}, non-owner node {other}, {samples} samples each")
for side, xs in lat.items():
    print(f"{side:>9}: p50 {pct(xs, 50):.2f} ms  p99 {pct(xs, 99):.2f} ms  max {max(xs):.2f} ms")
verdict = pct(lat["non-owner"], 99) <= pct(lat["owner"], 99) + 5
print(f"target non-owner p99 <= owner p99 + 5 ms: {'met' if verdict else 'NOT met'}")
PY
