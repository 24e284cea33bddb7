#!/usr/bin/env bash
# Runs the workloads of issue 7 against PubSubGo (memory storage) and the peers on this
# machine, and writes BENCHMARKS.md at the repository root. See README.md beside this.
#
#   benches/compare/run.sh            # the full workloads (200,000 / 20,000 / 200,000 messages)
#   benches/compare/run.sh --quick    # a tenth of the messages, for a smoke run
#
# Environment: CARGO_TARGET_DIR (PubSubGo's release build, default <repo>/target),
# COMPARE_TARGET_DIR (this project's, default benches/compare/target), REDIS_URL,
# NATS_URL, AMQP_URL (the peers; defaults are 127.0.0.1 with standard ports).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
quick=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
    esac
done

target_dir="${CARGO_TARGET_DIR:-$root/target}"
compare_target_dir="${COMPARE_TARGET_DIR:-$here/target}"

echo "== building PubSubGo and the comparison harness (release)" >&2
(cd "$root" && CARGO_TARGET_DIR="$target_dir" cargo build --release --locked \
    --bin pubsubgo-server --bin pubsub-cli)
CARGO_TARGET_DIR="$compare_target_dir" cargo build --release --locked \
    --manifest-path "$here/Cargo.toml"
server_bin="$target_dir/release/pubsubgo-server"
cli_bin="$target_dir/release/pubsub-cli"
compare_bin="$compare_target_dir/release/pubsubgo-compare"

results="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a fresh server with memory storage on free ports; sets server_pid and server_url.
start_server() {
    cleanup
    local port metrics
    port="$(free_port)"
    metrics="$(free_port)"
    "$server_bin" --host 127.0.0.1 --port "$port" --metrics-port "$metrics" \
        --storage memory --log-level warn >"$results/server.log" 2>&1 &
    server_pid=$!
    server_url="http://127.0.0.1:$port"
    for _ in $(seq 1 100); do
        if curl -fsS "$server_url/healthz" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "the server did not become healthy; its log:" >&2
    cat "$results/server.log" >&2
    exit 1
}

# Percent of all cores busy (not idle or waiting) over the next second: how quiet the
# machine is before a run. The load average lags by a minute, so it is shown only beside.
cpu_busy() {
    local a b total=0 i idle
    read -ra a < <(head -n1 /proc/stat)
    sleep 1
    read -ra b < <(head -n1 /proc/stat)
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    idle=$(( (b[4] - a[4]) + (b[5] - a[5]) ))
    echo $(( 100 * (total - idle) / (total > 0 ? total : 1) ))
}

# Waits up to a minute for the machine to be quiet (under 20% busy: the brokers' own
# background work from the previous run, or someone else's build), then notes how busy
# it was just before run $1.
note_load() {
    local busy waited=0
    busy="$(cpu_busy)"
    while (( busy >= 20 && waited < 60 )); do
        busy="$(cpu_busy)"
        waited=$((waited + 1))
    done
    echo "== $1  (machine ${busy}% busy before it, after waiting ${waited} s)" >&2
    echo "before $1: ${busy}% of the CPUs busy (waited ${waited} s for under 20%); load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$results/loads.txt"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status"; }

# A failed PubSubGo run is recorded as failed, with the last line it printed.
bench_pubsubgo() { # name workload-args...
    local name="$1"; shift
    note_load "$name"
    if ! "$cli_bin" --server "$server_url" --format json bench "$@" \
        >"$results/$name.json" 2>"$results/$name.err"; then
        python3 -c 'import json, sys; print(json.dumps({"status": "failed", "reason": sys.argv[1]}))' \
            "$(tail -n 3 "$results/$name.err" | tr '\n' ' ')" >"$results/$name.json"
    fi
    cat "$results/$name.err" >&2
}

bench_peer() { # name system args...
    local name="$1" system="$2"; shift 2
    note_load "$name"
    local url_args=()
    case "$system" in
        redis-streams) [[ -n "${REDIS_URL:-}" ]] && url_args=(--url "$REDIS_URL") ;;
        nats-jetstream) [[ -n "${NATS_URL:-}" ]] && url_args=(--url "$NATS_URL") ;;
        rabbitmq) [[ -n "${AMQP_URL:-}" ]] && url_args=(--url "$AMQP_URL") ;;
    esac
    "$compare_bin" run --system "$system" "${url_args[@]}" --version "$rabbit_version" \
        "$@" --out "$results/$name.json" || \
        python3 -c 'import json, sys; print(json.dumps({"status": "failed", "reason": "the harness exited with an error"}))' \
            >"$results/$name.json"
}

if [[ $quick -eq 1 ]]; then a=20000; b=2000; c=20000; else a=200000; b=20000; c=200000; fi
rabbit_version="$(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo unknown)"

{
    echo "date:        $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpu:         $(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
    echo "cores:       $(nproc)"
    echo "memory:      $(free -g | awk '/^Mem:/ { print $2 }') GiB"
    echo "kernel:      $(uname -sr)"
} >"$results/machine.txt"
{
    echo "pubsubgo:        $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo ' (uncommitted changes)'), release build, memory storage, one node"
    echo "rustc:           $(rustc --version)"
    echo "redis-server:    $(redis-server --version 2>/dev/null || echo 'not installed here')"
    echo "nats-server:     $(nats-server --version 2>/dev/null || echo 'not installed here')"
    echo "rabbitmq-server: $rabbit_version"
    echo "clients:         pubsub-cli bench (reqwest + tokio-tungstenite); async-nats/lapin/redis-rs ($(grep -A1 -E '^name = "(redis|async-nats|lapin)"$' "$here/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p' | paste -sd/ -))"
} >"$results/versions.txt"

start_server
common_a=(--producers 4 --consumers 4 --window 256)
bench_pubsubgo a__pubsubgo "${common_a[@]}" --messages "$a" --size 256 --batch 1 --transport pull
bench_pubsubgo a__pubsubgo-stream "${common_a[@]}" --messages "$a" --size 256 --batch 1 --transport stream
bench_pubsubgo a__pubsubgo-batch100 --producers 4 --consumers 4 --window 8 --messages "$a" --size 256 --batch 100 --transport pull
bench_pubsubgo b__pubsubgo --producers 1 --consumers 1 --window 1 --messages "$b" --size 256 --batch 1 --transport pull
bench_pubsubgo c__pubsubgo "${common_a[@]}" --messages "$c" --size 4096 --batch 1 --transport pull
for system in redis-streams nats-jetstream rabbitmq; do
    bench_peer "a__$system" "$system" "${common_a[@]}" --messages "$a" --size 256
    bench_peer "b__$system" "$system" --producers 1 --consumers 1 --window 1 --messages "$b" --size 256
    bench_peer "c__$system" "$system" "${common_a[@]}" --messages "$c" --size 4096
done

echo "== memory: a fresh server, idle, then with 1,000,000 unconsumed 256 B messages" >&2
start_server
idle="$(rss_kib)"
"$cli_bin" --server "$server_url" topics create rss-check >/dev/null
"$cli_bin" --server "$server_url" subscriptions create rss-check-sub --topic rss-check >/dev/null
head -c 256 /dev/urandom >"$results/payload.bin"
"$cli_bin" --server "$server_url" publish rss-check --file "$results/payload.bin" \
    --count 1000000 --batch 1000 >/dev/null
loaded="$(rss_kib)"
echo "{\"idleKib\": $idle, \"loadedKib\": $loaded, \"loadedMessages\": 1000000, \"loadedSize\": 256}" \
    >"$results/memory.json"
cleanup
server_pid=""

cat "$results/loads.txt" >>"$results/machine.txt"
note=""
[[ $quick -eq 1 ]] && note="Quick run (--quick): a tenth of the issue's message counts."
"$compare_bin" report --results "$results" --out "$root/BENCHMARKS.md" --note "$note"
echo "== wrote $root/BENCHMARKS.md (raw results in $results)" >&2
