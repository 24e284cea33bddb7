#!/usr/bin/env bash
# Google's Python client (google-cloud-pubsub, pinned in tests/tools/google-client-requirements.txt)
# against one pubsubgo-server on memory storage, through its gRPC port: publish and streaming-pull
# throughput (cli/bench/compare/google-client.py), ROUNDS times, each on a fresh server.
# Build first: cargo build --release --locked --bin pubsubgo-server (BIN overrides the binary).
# PORT (default 18281) and the three ports after it: client, metrics, peer, gRPC.
# MESSAGES (default 20,000) and SIZE (default 256 B) per round.
# Google's emulator is not run: it comes with gcloud, downloaded from Google's servers.
set -euo pipefail
here="$(cd "$(dirname "$0")/../../.." && pwd)"
bin="${BIN:-$here/target/release/pubsubgo-server}"
python="$("$here/tests/tools/ensure-google-client")"
port=${PORT:-18281}; metrics=$((port + 1)); peer=$((port + 2)); grpc=$((port + 3))
for round in $(seq "${ROUNDS:-3}"); do
  data=$(mktemp -d)
  PUBSUB_LOG_ACCESS=false "$bin" --port $port --metrics-port $metrics --peer-port $peer \
    --grpc-port $grpc --data-dir "$data" > "$data/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do curl -fs http://127.0.0.1:$port/readyz >/dev/null && break; sleep 0.1; done
  echo -n "round $round: "
  PUBSUB_EMULATOR_HOST=127.0.0.1:$grpc "$python" "$here/cli/bench/compare/google-client.py" \
    --messages "${MESSAGES:-20000}" --size "${SIZE:-256}"
  kill $pid; wait $pid 2>/dev/null || true; rm -rf "$data"
done
