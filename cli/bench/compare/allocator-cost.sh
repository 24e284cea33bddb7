#!/usr/bin/env bash
# Build first: cargo build --release --locked --bin pubsubgo-server --bin pubsub-cli
# The release server with glibc malloc, jemalloc and mimalloc swapped in by LD_PRELOAD
# (Debian: apt-get install libjemalloc2 libmimalloc2.0): for each, the server's
# instructions per message on workload (a) over REST under callgrind (tracing-cost.sh with
# CALLGRIND=1, tracing off) and the harness's memory figures (idle VmRSS, then VmRSS with
# 1,000,000 unconsumed 256 B messages). Counts do not depend on the machine's load.
# MESSAGES (default 20,000) per callgrind run; PORT (default 47300) and the next two ports.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
bin="$root/target/release"
lib=/usr/lib/x86_64-linux-gnu
port=${PORT:-47300}
payload="$(mktemp)"; head -c 256 /dev/urandom > "$payload"
for alloc in glibc jemalloc mimalloc; do
  case $alloc in
    glibc) pre="" ;;
    jemalloc) pre="$lib/libjemalloc.so.2" ;;
    mimalloc) pre="$lib/libmimalloc.so.2" ;;
  esac
  if [[ -n $pre && ! -e $pre ]]; then echo "$alloc: $pre missing, skipped" >&2; continue; fi
  cpu=$(LD_PRELOAD=$pre CALLGRIND=1 MODES=off TRANSPORTS=rest MESSAGES=${MESSAGES:-20000} \
        TIMEOUT=600 PORT=$((port + 10)) bash "$root/cli/bench/compare/tracing-cost.sh" | tail -1)
  data=$(mktemp -d)
  LD_PRELOAD=$pre "$bin/pubsubgo-server" --port "$port" --metrics-port $((port + 1)) \
    --peer-port $((port + 2)) --grpc-enabled false --data-dir "$data" > "$data.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.1; done
  idle=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  cli=("$bin/pubsub-cli" --server "http://127.0.0.1:$port")
  "${cli[@]}" topics create rss-check > /dev/null
  "${cli[@]}" subscriptions create rss-check-sub --topic rss-check > /dev/null
  "${cli[@]}" publish rss-check --file "$payload" --count 1000000 --batch 1000 > /dev/null
  loaded=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2> /dev/null || true; rm -rf "$data" "$data.log"
  echo "$alloc: ${cpu#*: }; idle VmRSS $idle kB; 1M x 256 B unconsumed $loaded kB = $(python3 -c "print(round($loaded / 250000, 2))")x payload"
done
rm -f "$payload"
