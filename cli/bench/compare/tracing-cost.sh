#!/usr/bin/env bash
# Build first: cargo build --release --locked --bin pubsubgo-server --bin pubsub-cli
# Workload (a) against one node on memory storage with tracing off, on at 0.01 and on at 1.0.
# Spans go to a local OTLP/HTTP sink (answers 200 to every POST) so export works as with a collector.
# The modes are interleaved, ROUNDS times (off 0.01 1.0 off 0.01 1.0 …), so on a shared machine
# every mode sees the same load. Each run's line: msgs/s end to end, and the server's CPU seconds
# (process_cpu_seconds_total) per 100,000 messages, which load on the machine disturbs far less.
# PORT (default 18181) and the three ports after it: client, metrics, peer, sink.
# MESSAGES overrides the messages per run (200,000 on REST, 1,000,000 on streams); TIMEOUT the
# client's --timeout (under valgrind the server is about 50 times slower).
# CALLGRIND=1 runs the server under valgrind --tool=callgrind and adds its instructions per
# message, counted from readiness to exit (start-up left out): a count no other load changes.
set -euo pipefail
here="$(cd "$(dirname "$0")/../../.." && pwd)"
bin="$here/target/release"
out="$here/target/tracing-cost"; mkdir -p "$out"
port=${PORT:-18181}; metrics=$((port + 1)); peer=$((port + 2)); sink_port=$((port + 3))
SINK_PORT=$sink_port python3 - <<'PY' &
import os
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self.send_response(200); self.send_header('Content-Type','application/x-protobuf'); self.send_header('Content-Length','0'); self.end_headers()
    def log_message(self, *a): pass
ThreadingHTTPServer(('127.0.0.1', int(os.environ['SINK_PORT'])), H).serve_forever()
PY
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT
for transport in ${TRANSPORTS:-rest stream}; do
for round in $(seq "${ROUNDS:-1}"); do
for mode in ${MODES:-off 0.01 1.0}; do
  run="$transport-$mode-$round"
  data=$(mktemp -d)
  if [[ $mode == off ]]; then tr=(PUBSUB_TRACING_ENABLED=false); else tr=(PUBSUB_TRACING_ENABLED=true PUBSUB_TRACING_SAMPLING_RATIO=$mode PUBSUB_TRACING_OTLP_ENDPOINT=http://127.0.0.1:$sink_port/v1/traces); fi
  wrap=(); [[ ${CALLGRIND:-0} == 1 ]] && wrap=(valgrind --tool=callgrind --instr-atstart=no "--callgrind-out-file=$out/$run.callgrind")
  env "${tr[@]}" PUBSUB_LOG_ACCESS=false "${wrap[@]}" "$bin/pubsubgo-server" --port $port --metrics-port $metrics --peer-port $peer --grpc-enabled false --data-dir "$data" > "$out/server-$run.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do curl -fs http://127.0.0.1:$port/readyz >/dev/null && break; sleep 0.1; done
  [[ ${CALLGRIND:-0} == 1 ]] && callgrind_control -i on $pid > /dev/null
  extra=(); [[ $transport == stream ]] && extra=(--transport stream --publish-transport stream --encoding binary)
  msgs=${MESSAGES:-200000}; [[ $transport == stream ]] && msgs=${MESSAGES:-1000000}
  cpu_before=$(curl -s http://127.0.0.1:$metrics/metrics | awk '/^process_cpu_seconds_total/ {print $2}')
  "$bin/pubsub-cli" --format json bench --server http://127.0.0.1:$port --producers 4 --consumers 4 --window 256 --messages $msgs --size 256 --batch 1 --partitions 4 ${TIMEOUT:+--timeout $TIMEOUT} "${extra[@]}" > "$out/$run.json" 2> "$out/$run.err"
  scrape=$(curl -s http://127.0.0.1:$metrics/metrics)
  cpu_after=$(awk '/^process_cpu_seconds_total/ {print $2}' <<< "$scrape")
  grep -E '^pubsubgo_trace_spans' <<< "$scrape" > "$out/$run.drops" || true
  kill $pid; wait $pid 2>/dev/null || true; rm -rf "$data"
  ir=0; [[ ${CALLGRIND:-0} == 1 ]] && ir=$(callgrind_annotate "$out/$run.callgrind" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  python3 - "$out/$run.json" "$cpu_before" "$cpu_after" "$msgs" "$out/$run.drops" "$run" "$ir" <<'PY'
import json, sys
report, before, after, msgs, drops, run, ir = sys.argv[1:]
r = json.load(open(report))
rate = r["endToEnd"]["msgsPerSec"]
v = r["verification"]
assert v["lost"] == 0 and v["duplicates"] == 0, v
exported = sum(float(l.split()[-1]) for l in open(drops) if l.startswith("pubsubgo_trace_spans_exported"))
cpu = (float(after) - float(before)) / int(msgs) * 100000
instructions = f", {int(ir) / int(msgs):,.0f} instructions per message" if int(ir or 0) else ""
print(f"{run}: {rate:,.0f} msgs/s, server CPU {cpu:.2f} s per 100k msgs, {exported:,.0f} spans exported{instructions}")
PY
done
done
done
