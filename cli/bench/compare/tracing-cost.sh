#!/usr/bin/env bash
# Build first: cargo build --release --locked --bin pubsubgo-server --bin pubsub-cli
# Workload (a) against one node on memory storage with tracing off, on at 0.01 and on at 1.0.
# Spans go to a local OTLP/HTTP sink (answers 200 to every POST) so export works as with a collector.
set -euo pipefail
here="$(cd "$(dirname "$0")/../../.." && pwd)"
bin="$here/target/release"
out="$here/target/tracing-cost"; mkdir -p "$out"
python3 - <<'PY' &
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self.send_response(200); self.send_header('Content-Type','application/x-protobuf'); self.send_header('Content-Length','0'); self.end_headers()
    def log_message(self, *a): pass
ThreadingHTTPServer(('127.0.0.1', 14318), H).serve_forever()
PY
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
for transport in ${TRANSPORTS:-rest stream}; do
for mode in ${MODES:-off 0.01 1.0}; do
  data=$(mktemp -d)
  if [[ $mode == off ]]; then tr=(PUBSUB_TRACING_ENABLED=false); else tr=(PUBSUB_TRACING_ENABLED=true PUBSUB_TRACING_SAMPLING_RATIO=$mode PUBSUB_TRACING_OTLP_ENDPOINT=http://127.0.0.1:14318/v1/traces); fi
  env "${tr[@]}" PUBSUB_LOG_ACCESS=false "$bin/pubsubgo-server" --port 18181 --metrics-port 19192 --peer-port 18182 --grpc-enabled false --data-dir "$data" > "$out/server-$transport-$mode.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fs http://127.0.0.1:18181/readyz >/dev/null && break; sleep 0.1; done
  extra=(); [[ $transport == stream ]] && extra=(--transport stream --publish-transport stream --encoding binary)
  msgs=200000; [[ $transport == stream ]] && msgs=1000000
  "$bin/pubsub-cli" --format json bench --server http://127.0.0.1:18181 --producers 4 --consumers 4 --window 256 --messages $msgs --size 256 --batch 1 --partitions 4 "${extra[@]}" > "$out/$transport-$mode.json" 2> "$out/$transport-$mode.err"
  curl -s http://127.0.0.1:19192/metrics | grep -E '^pubsubgo_trace_spans' > "$out/$transport-$mode.drops" || true
  kill $pid; wait $pid 2>/dev/null || true; rm -rf "$data"
  echo "$transport $mode done"
done
done
