#!/usr/bin/env bash
# What TLS on the client port costs: workloads (a) (throughput: 4 producers, 4 consumers,
# window 256, 256 B) and (b) (latency: 1 producer, 1 consumer, window 1, 256 B) of the
# comparison harness against one node on memory storage, over http:// and over https://
# (a certificate of a CA made here, given to the client with --ca-file). Both transports:
# REST (`POST :publish`, `:pull`) and streams (`:publishStream`/`:stream`, binary frames).
# The modes are interleaved ROUNDS times (plain tls plain tls …) so both see the same load;
# each run is a fresh server on free ports. Prints one line per run and the medians.
#
#   cargo build --release --locked --bin pubsubgo-server --bin pubsub-cli
#   cli/bench/compare/tls-cost.sh                 # ROUNDS=3
#   ROUNDS=5 WORKLOADS="a" TRANSPORTS=stream cli/bench/compare/tls-cost.sh
#
# MESSAGES_A / MESSAGES_B override the messages per run (200,000 and 20,000, as the harness);
# BIN the directory of pubsubgo-server and pubsub-cli (default target/release). A server that is
# not ready within 60 s stops the run with its log.
set -euo pipefail
here="$(cd "$(dirname "$0")/../../.." && pwd)"
bin="${BIN:-$here/target/release}"
out="$here/target/tls-cost"
rm -rf "$out"
mkdir -p "$out"

# A CA and a server certificate for 127.0.0.1, made for this run.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=tls-cost CA" \
  -keyout "$out/ca.key" -out "$out/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$out/server.key" -out "$out/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$out/san.ext"
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial -days 1 \
  -extfile "$out/san.ext" -out "$out/server.pem" 2>/dev/null

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; true' EXIT

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores" | tee "$out/results.txt"
for round in $(seq "${ROUNDS:-3}"); do
  for workload in ${WORKLOADS:-a b}; do
    for transport in ${TRANSPORTS:-rest stream}; do
      for mode in plain tls; do
        run="$workload-$transport-$mode-$round"
        port=$(free_port)
        metrics=$(free_port)
        peer=$(free_port)
        data=$(mktemp -d)
        tls=()
        scheme=http
        client_tls=()
        if [[ $mode == tls ]]; then
          tls=(--tls-cert-file "$out/server.pem" --tls-key-file "$out/server.key")
          scheme=https
          client_tls=(--ca-file "$out/ca.pem")
        fi
        PUBSUB_LOG_ACCESS=false "$bin/pubsubgo-server" --host 127.0.0.1 --port "$port" --metrics-port "$metrics" \
          --peer-port "$peer" --grpc-enabled false --data-dir "$data" "${tls[@]}" >"$out/server-$run.log" 2>&1 &
        pid=$!
        ready=""
        for _ in $(seq 600); do
          curl -fs ${client_tls:+--cacert "$out/ca.pem"} "$scheme://127.0.0.1:$port/readyz" >/dev/null && ready=1 && break
          sleep 0.1
        done
        [[ -n $ready ]] || { echo "$run: server not ready after 60 s:" >&2; tail -20 "$out/server-$run.log" >&2; exit 1; }
        if [[ $workload == a ]]; then
          shape=(--producers 4 --consumers 4 --window 256 --messages "${MESSAGES_A:-200000}")
        else
          shape=(--producers 1 --consumers 1 --window 1 --messages "${MESSAGES_B:-20000}")
        fi
        extra=()
        [[ $transport == stream ]] && extra=(--transport stream --publish-transport stream --encoding binary)
        "$bin/pubsub-cli" --format json "${client_tls[@]}" bench --server "$scheme://127.0.0.1:$port" \
          "${shape[@]}" --size 256 --batch 1 --partitions 4 "${extra[@]}" >"$out/$run.json" 2>"$out/$run.err"
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        pid=""
        rm -rf "$data"
        python3 - "$out/$run.json" "$run" <<'PY' | tee -a "$out/results.txt"
import json, sys
report, run = sys.argv[1:]
r = json.load(open(report))
v = r["verification"]
assert v["lost"] == 0 and v["duplicates"] == 0, v
e2e = r["endToEnd"]
print(f'{run}: {e2e["msgsPerSec"]:,.0f} msgs/s, publish p50 {r["publishLatency"]["p50Us"]} us, '
      f'end-to-end p50 {r["endToEndLatency"]["p50Us"]} us')
PY
      done
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/results.txt"

# Medians per workload, transport and mode, and TLS's change against plain.
python3 - "$out/results.txt" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\w)-(\w+)-(plain|tls)-\d+: ([\d,]+) msgs/s, publish p50 (\d+) us, end-to-end p50 (\d+) us", line)
    if m:
        key = (m[1], m[2], m[3])
        rows.setdefault(key, []).append((float(m[4].replace(",", "")), int(m[5]), int(m[6])))
print("\n| workload | transport | plain msgs/s | TLS msgs/s | change | plain publish p50 | TLS publish p50 | plain e2e p50 | TLS e2e p50 |")
print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
for workload, transport in sorted({(w, t) for w, t, _ in rows}):
    plain, tls = rows[(workload, transport, "plain")], rows[(workload, transport, "tls")]
    med = lambda runs, i: statistics.median(r[i] for r in runs)
    change = (med(tls, 0) / med(plain, 0) - 1) * 100
    print(f"| ({workload}) | {transport} | {med(plain, 0):,.0f} | {med(tls, 0):,.0f} | {change:+.1f} % | "
          f"{med(plain, 1) / 1000:.2f} ms | {med(tls, 1) / 1000:.2f} ms | {med(plain, 2) / 1000:.2f} ms | {med(tls, 2) / 1000:.2f} ms |")
PY
