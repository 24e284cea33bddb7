#!/usr/bin/env bash
# Runs the workloads of issues 7 and 18 against PubSubGo (memory storage; Redis storage; a
# 3-node cluster on Redis storage) and the peers on this machine, and writes the generated
# top part of BENCHMARKS.md at the repository root. See README.md beside this.
#
#   cli/bench/compare/run.sh                  # the full workloads (200,000 / 20,000 / 200,000 messages)
#   cli/bench/compare/run.sh --quick          # a tenth of the messages, for a smoke run
#   cli/bench/compare/run.sh --private-redis  # Redis rows on a redis-server of the run's own
#
# Environment: CARGO_TARGET_DIR (PubSubGo's release build, default <repo>/target),
# COMPARE_TARGET_DIR (this project's, default cli/bench/compare/target), REDIS_URL,
# NATS_URL, AMQP_URL (the peers; defaults are 127.0.0.1 with standard ports),
# QUIET_WAIT_SECONDS (how long each row waits for a quiet machine, default 10).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
quick=0
private_redis=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        --private-redis) private_redis=1 ;;
        *) echo "usage: $0 [--quick] [--private-redis]" >&2; exit 2 ;;
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
mkdir "$results/cpu"
server_pids=()
data_dirs=()
redis_prefixes=()
redis_pid=""
pubsub_redis_url="${REDIS_URL:-redis://127.0.0.1:6379}"
clk_tck="$(getconf CLK_TCK)"

# Stops the PubSubGo servers this script started (SIGTERM, then SIGKILL after 15 s)
# and removes their data directories.
stop_servers() {
    local pid alive _
    if (( ${#server_pids[@]} > 0 )); then
        kill "${server_pids[@]}" 2>/dev/null || true
        for _ in $(seq 1 150); do
            alive=0
            for pid in "${server_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
            (( alive )) || break
            sleep 0.1
        done
        for pid in "${server_pids[@]}"; do
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        done
    fi
    server_pids=()
    if (( ${#data_dirs[@]} > 0 )); then rm -rf "${data_dirs[@]}"; fi
    data_dirs=()
}

# Deletes every key under the Redis key prefix $1 (PubSubGo's keys are `<prefix>:…`).
delete_redis_keys() {
    redis-cli -u "$pubsub_redis_url" --scan --pattern "$1:*" \
        | xargs -r -d '\n' -n 500 redis-cli -u "$pubsub_redis_url" UNLINK >/dev/null
}

cleanup() {
    stop_servers
    local prefix
    for prefix in "${redis_prefixes[@]}"; do delete_redis_keys "$prefix" || true; done
    redis_prefixes=()
    if [[ -n "$redis_pid" ]]; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
        redis_pid=""
    fi
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --private-redis: a redis-server of this run's own on a free port, nothing on disk, so
# that Redis's CPU per message (`INFO cpu`) counts this run's commands only. Both the
# Redis Streams peer and PubSubGo's Redis storage use it.
if (( private_redis )); then
    redis_port="$(free_port)"
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$results" --logfile "$results/redis.log" &
    redis_pid=$!
    export REDIS_URL="redis://127.0.0.1:$redis_port"
    pubsub_redis_url="$REDIS_URL"
    for _ in $(seq 1 100); do
        [[ "$(redis-cli -u "$REDIS_URL" ping 2>/dev/null)" == PONG ]] && break
        sleep 0.1
    done
fi

# CPU seconds (user + system) the PubSubGo servers this script runs have used so far,
# summed over the servers (/proc/PID/stat fields 14 and 15, in clock ticks).
servers_cpu_seconds() {
    local pid ticks=0 fields
    for pid in "${server_pids[@]}"; do
        # Fields after the command name, which may hold spaces: state is fields[0].
        read -ra fields < <(sed 's/^.*) //' "/proc/$pid/stat")
        ticks=$((ticks + fields[11] + fields[12]))
    done
    python3 -c 'import sys; print(int(sys.argv[1]) / int(sys.argv[2]))' "$ticks" "$clk_tck"
}

# CPU seconds (user + system) the Redis server has used so far, from `INFO cpu`; "null"
# when no Redis answers.
redis_cpu_seconds() {
    redis-cli -u "$pubsub_redis_url" INFO cpu 2>/dev/null | tr -d '\r' \
        | awk -F: '/^used_cpu_(sys|user):/ { s += $2; n++ } END { if (n == 2) print s; else print "null" }'
}

# Writes $results/cpu/$1.json from the readings taken before the row (broker seconds or
# "null", Redis seconds or "null") and the number of servers.
record_cpu() { # name broker-before redis-before servers
    local broker_after="null" redis_after
    [[ "$2" != null ]] && broker_after="$(servers_cpu_seconds)"
    redis_after="$(redis_cpu_seconds)"
    python3 - "$results/cpu/$1.json" "$2" "$broker_after" "$3" "$redis_after" "$4" <<'PY'
import json, sys
out, b0, b1, r0, r1, servers = sys.argv[1:]
diff = lambda a, b: None if "null" in (a, b) else round(float(b) - float(a), 3)
json.dump({"brokerSeconds": diff(b0, b1), "redisSeconds": diff(r0, r1), "servers": int(servers)},
          open(out, "w"))
PY
}

# A Redis key prefix no earlier run used; remembered, so its keys are deleted at exit
# even when the run breaks.
fresh_redis_prefix() {
    local prefix
    prefix="pubsubgo-bench-$$-$(date +%s%N)"
    redis_prefixes+=("$prefix")
    echo "$prefix"
}

# Starts one PubSubGo server on free ports with a fresh data directory; its log is
# $results/server-$1.log. Appends to server_pids and sets started_url.
# Usage: start_node LABEL CLIENT_PORT PEER_PORT [server flags...]
start_node() {
    local label="$1" port="$2" peer_port="$3" metrics data
    shift 3
    metrics="$(free_port)"
    data="$(mktemp -d "${TMPDIR:-/tmp}/pubsubgo-bench-data.XXXXXX")"
    data_dirs+=("$data")
    "$server_bin" --host 127.0.0.1 --port "$port" --metrics-port "$metrics" --grpc-enabled false \
        --peer-port "$peer_port" --data-dir "$data" --log-level warn "$@" \
        >"$results/server-$label.log" 2>&1 &
    server_pids+=($!)
    started_url="http://127.0.0.1:$port"
}

# Waits up to 10 s for $1/healthz; on failure prints the log of server $2 and answers 1.
await_healthy() {
    local _
    for _ in $(seq 1 100); do
        if curl -fsS "$1/healthz" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "the server at $1 did not become healthy; its log:" >&2
    cat "$results/server-$2.log" >&2
    return 1
}

# Starts a fresh single server (stopping the previous ones) with the given storage
# flags; sets server_pid, server_url and bench_servers.
start_server() {
    stop_servers
    start_node single "$(free_port)" "$(free_port)" "$@"
    server_pid="${server_pids[0]}"
    server_url="$started_url"
    bench_servers=(--server "$server_url")
    await_healthy "$server_url" single || exit 1
}

# Starts a 3-node cluster sharing Redis key prefix $1 and waits until
# `pubsub-cli cluster status` on node 1 exits 0 with all 3 nodes registered and live.
# Sets bench_servers (producers and consumers spread over the 3 nodes). Answers 1, with
# the reason in cluster_failure, when it does not form within 60 s.
start_cluster() {
    stop_servers
    local prefix="$1" i peers="" status
    local -a ports peer_ports urls
    for i in 1 2 3; do
        ports[i]="$(free_port)"
        peer_ports[i]="$(free_port)"
        peers+="${peers:+,}$i=127.0.0.1:${peer_ports[i]}"
    done
    for i in 1 2 3; do
        start_node "node$i" "${ports[i]}" "${peer_ports[i]}" --node-id "$i" --peers "$peers" \
            --storage redis --redis-url "$pubsub_redis_url" --redis-key-prefix "$prefix"
        urls[i]="$started_url"
    done
    server_url="${urls[1]}"
    bench_servers=(--server "${urls[1]}" --servers "${urls[1]},${urls[2]},${urls[3]}")
    for _ in $(seq 1 300); do
        if status="$("$cli_bin" --server "${urls[1]}" --format json cluster status 2>/dev/null)" &&
            python3 -c 'import json, sys; n = json.load(sys.stdin)["nodes"]; sys.exit(0 if len(n) == 3 and all(x["live"] for x in n) else 1)' <<<"$status"; then
            echo "== the cluster formed: $(python3 -c 'import json, sys; s = json.load(sys.stdin); print("leader", s.get("leader"), "term", s["term"])' <<<"$status")" >&2
            return 0
        fi
        sleep 0.2
    done
    cluster_failure="the 3-node cluster did not form within 60 s: $("$cli_bin" --server "${urls[1]}" cluster status 2>&1 | tail -n 2 | tr '\n' ' ')"
    for i in 1 2 3; do
        echo "node $i's log:" >&2
        tail -n 20 "$results/server-node$i.log" >&2
    done
    return 1
}

# Writes a skipped or failed result file: not_measured FILE STATUS REASON.
not_measured() {
    python3 -c 'import json, sys; print(json.dumps({"status": sys.argv[1], "reason": sys.argv[2]}))' \
        "$2" "$3" >"$1"
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

# Waits up to QUIET_WAIT_SECONDS (10) for the machine to be quiet (under 20% busy: the
# brokers' own background work from the previous run, or someone else's build), then
# notes how busy it was just before run $1. The wait is short so that a machine busy
# with other work still finishes the run in about 15 minutes; the note says how busy.
note_load() {
    local busy waited=0
    busy="$(cpu_busy)"
    while (( busy >= 20 && waited < ${QUIET_WAIT_SECONDS:-10} )); do
        busy="$(cpu_busy)"
        waited=$((waited + 1))
    done
    echo "== $1  (machine ${busy}% busy before it, after waiting ${waited} s)" >&2
    echo "before $1: ${busy}% of the CPUs busy (waited ${waited} s for under 20%); load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$results/loads.txt"
}

# The environment of the client of run $1. Workload (b), one producer and one consumer
# with one message in flight, measures round trips: every system's client runs on one
# runtime thread there, so a client's hop between threads (a futex wake-up each, which
# on 2 CPUs added about 50 µs to a REST publish and 6 µs to a NATS one) is not counted
# as the system's latency. The other workloads give the clients every core.
client_env() {
    case "$1" in
        b__* | b-r*__*) echo TOKIO_WORKER_THREADS=1 ;;
    esac
}

# One line of /proc/$server_pid/status in KiB: rss_kib [VmRSS|RssAnon|RssFile].
rss_kib() { awk -v key="${1:-VmRSS}:" '$1 == key { print $2 }' "/proc/$server_pid/status"; }

# A failed PubSubGo run is recorded as failed, with the last lines it printed. The
# servers are bench_servers, set by start_server or start_cluster; their CPU and
# Redis's over the run go to $results/cpu/NAME.json.
bench_pubsubgo() { # name workload-args...
    local name="$1" broker_before redis_before; shift
    note_load "$name"
    broker_before="$(servers_cpu_seconds)"
    redis_before="$(redis_cpu_seconds)"
    if env $(client_env "$name") "$cli_bin" --format json bench "${bench_servers[@]}" "$@" \
        >"$results/$name.json" 2>"$results/$name.err"; then
        record_cpu "$name" "$broker_before" "$redis_before" "${#server_pids[@]}"
    else
        not_measured "$results/$name.json" failed "$(tail -n 3 "$results/$name.err" | tr '\n' ' ')"
    fi
    cat "$results/$name.err" >&2
}

bench_peer() { # name system args...
    local name="$1" system="$2" redis_before; shift 2
    note_load "$name"
    redis_before="$(redis_cpu_seconds)"
    local url_args=()
    case "$system" in
        redis-streams) [[ -n "${REDIS_URL:-}" ]] && url_args=(--url "$REDIS_URL") ;;
        nats-jetstream) [[ -n "${NATS_URL:-}" ]] && url_args=(--url "$NATS_URL") ;;
        rabbitmq) [[ -n "${AMQP_URL:-}" ]] && url_args=(--url "$AMQP_URL") ;;
    esac
    env $(client_env "$name") "$compare_bin" run --system "$system" "${url_args[@]}" --version "$rabbit_version" \
        "$@" --out "$results/$name.json" || \
        python3 -c 'import json, sys; print(json.dumps({"status": "failed", "reason": "the harness exited with an error"}))' \
            >"$results/$name.json"
    # The Redis Streams peer uses the Redis that PubSubGo's storage uses.
    [[ "$system" == redis-streams ]] && record_cpu "$name" null "$redis_before" 0
    return 0
}

if [[ $quick -eq 1 ]]; then a=20000; b=2000; c=20000; else a=200000; b=20000; c=200000; fi
hop_rounds="${HOP_ROUNDS:-$((quick == 1 ? 1 : 4))}"
ratio_rounds="${RATIO_ROUNDS:-$((quick == 1 ? 1 : 4))}"
rabbit_version="$(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null || echo unknown)"

{
    echo "date:        $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpu:         $(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
    echo "cores:       $(nproc)"
    echo "memory:      $(free -g | awk '/^Mem:/ { print $2 }') GiB"
    echo "kernel:      $(uname -sr)"
} >"$results/machine.txt"
{
    echo "pubsubgo:        $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo ' (uncommitted changes)'), release build"
    echo "  pubsubgo[-stream], -batch100:     one node, memory storage"
    echo "  pubsubgo-redis[-stream][-batch64]:          one node, Redis storage on the redis-server below (fresh key prefix, deleted after)"
    echo "  pubsubgo-cluster3-redis[-stream][-batch64]: 3 nodes on this machine, Redis storage on the same server (one fresh prefix)"
    echo "  plain rows: HTTP publish (1 message per request) and HTTP pull; -stream rows: :publishStream and :stream, binary frames"
    echo "  -batch64 rows: 64 messages per publish request or frame, (a) only"
    echo "  Redis:           $pubsub_redis_url$( (( private_redis )) && echo ' (private to this run, nothing on disk)')"
    echo "rustc:           $(rustc --version)"
    echo "redis-server:    $(redis-server --version 2>/dev/null || echo 'not installed here')"
    echo "nats-server:     $(nats-server --version 2>/dev/null || echo 'not installed here')"
    echo "rabbitmq-server: $rabbit_version"
    echo "clients:         pubsub-cli bench (hyper + tokio-tungstenite); async-nats/lapin/redis-rs ($(grep -A1 -E '^name = "(redis|async-nats|lapin)"$' "$here/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p' | paste -sd/ -))"
} >"$results/versions.txt"

# Every PubSubGo row uses a topic of 4 partitions (the bench's default, named here so
# the rows stay alike) and one shared subscription. Plain rows publish one message per
# HTTP request and pull over HTTP (the REST path); `-stream` rows publish over one
# :publishStream WebSocket per producer and consume over :stream, with binary frames.
common_a=(--producers 4 --consumers 4 --window 256)
pubsub_a=("${common_a[@]}" --messages "$a" --size 256 --batch 1 --partitions 4)
# Issue 18's rows on workload (a): 64 messages per HTTP request and per :publishStream
# frame, the same window of 256 requests or frames in flight per producer as the other (a) rows.
pubsub_a64=("${common_a[@]}" --messages "$a" --size 256 --batch 64 --partitions 4)
# The peers' workloads (a) and (b), the same as PubSubGo's above.
peer_a=("${common_a[@]}" --messages "$a" --size 256)
peer_b=(--producers 1 --consumers 1 --window 1 --messages "$b" --size 256)
pubsub_b=(--producers 1 --consumers 1 --window 1 --messages "$b" --size 256 --batch 1 --partitions 4)
pubsub_c=("${common_a[@]}" --messages "$c" --size 4096 --batch 1 --partitions 4)
rest=(--transport pull --publish-transport http)
streams=(--transport stream --publish-transport stream --encoding binary)

# The batch-64 rows on the servers started last: bench_batch64 NAME.
bench_batch64() {
    bench_pubsubgo "a__$1-batch64" "${pubsub_a64[@]}" "${rest[@]}"
    bench_pubsubgo "a__$1-stream-batch64" "${pubsub_a64[@]}" "${streams[@]}"
}

# Runs workloads a, b and c on the servers started last, the REST and stream rows: bench_all NAME.
bench_all() {
    local w args
    for w in a b c; do
        case "$w" in
            a) args=("${pubsub_a[@]}") ;;
            b) args=("${pubsub_b[@]}") ;;
            c) args=("${pubsub_c[@]}") ;;
        esac
        bench_pubsubgo "${w}__$1" "${args[@]}" "${rest[@]}"
        bench_pubsubgo "${w}__$1-stream" "${args[@]}" "${streams[@]}"
    done
}

start_server --storage memory
bench_all pubsubgo
bench_pubsubgo a__pubsubgo-batch100 --producers 4 --consumers 4 --window 8 --messages "$a" --size 256 --batch 100 --partitions 4 "${rest[@]}"

# PubSubGo on Redis storage: one node, then three, each on a fresh key prefix whose
# keys are deleted once its rows are done.
if [[ "$(redis-cli -u "$pubsub_redis_url" ping 2>&1)" != PONG ]]; then
    for w in a b c; do
        for name in pubsubgo-redis pubsubgo-redis-stream pubsubgo-cluster3-redis pubsubgo-cluster3-redis-stream; do
            not_measured "$results/${w}__$name.json" skipped "no Redis answers at $pubsub_redis_url for PubSubGo's storage"
        done
    done
    for name in pubsubgo-redis pubsubgo-cluster3-redis; do
        for suffix in -batch64 -stream-batch64; do
            not_measured "$results/a__$name$suffix.json" skipped "no Redis answers at $pubsub_redis_url for PubSubGo's storage"
        done
    done
else
    prefix="$(fresh_redis_prefix)"
    start_server --storage redis --redis-url "$pubsub_redis_url" --redis-key-prefix "$prefix"
    bench_all pubsubgo-redis
    bench_batch64 pubsubgo-redis
    stop_servers
    delete_redis_keys "$prefix" || echo "warning: could not delete the keys under $prefix" >&2

    prefix="$(fresh_redis_prefix)"
    if start_cluster "$prefix"; then
        bench_all pubsubgo-cluster3-redis
        bench_batch64 pubsubgo-cluster3-redis
    else
        for name in {a,b,c}__pubsubgo-cluster3-redis{,-stream} a__pubsubgo-cluster3-redis{,-stream}-batch64; do
            not_measured "$results/$name.json" failed "$cluster_failure"
        done
    fi
    stop_servers
    delete_redis_keys "$prefix" || echo "warning: could not delete the keys under $prefix" >&2

    # Target 4 compares the broker CPU per message of 3 nodes with 1 node's, rows run
    # minutes apart above; one such ratio moves with the machine's speed more than the
    # target's margin. So the two stream rows run again on each side, alternating 1 node
    # and 3 nodes, HOP_ROUNDS times (results hopN__…), and the verdict is the median.
    for round in $(seq 1 "$hop_rounds"); do
        for side in single cluster; do
            prefix="$(fresh_redis_prefix)"
            if [[ $side == single ]]; then
                start_server --storage redis --redis-url "$pubsub_redis_url" --redis-key-prefix "$prefix"
                name=pubsubgo-redis
            elif start_cluster "$prefix"; then
                name=pubsubgo-cluster3-redis
            else
                stop_servers
                continue
            fi
            bench_pubsubgo "hop${round}__$name-stream" "${pubsub_a[@]}" "${streams[@]}"
            bench_pubsubgo "hop${round}__$name-stream-batch64" "${pubsub_a64[@]}" "${streams[@]}"
            stop_servers
            delete_redis_keys "$prefix" || echo "warning: could not delete the keys under $prefix" >&2
        done
    done
fi

for system in redis-streams nats-jetstream rabbitmq; do
    bench_peer "a__$system" "$system" "${peer_a[@]}"
    bench_peer "b__$system" "$system" "${peer_b[@]}"
    bench_peer "c__$system" "$system" "${common_a[@]}" --messages "$c" --size 4096
done

# Targets 1-3 of issue 18 compare a PubSubGo row with a peer's row run minutes apart.
# Both sides of each run again, alternating, RATIO_ROUNDS times (default 4, 1 with
# --quick; results a-rN__… and b-rN__…), and each verdict is the median of the run's
# ratio and these.
for round in $(seq 1 "$ratio_rounds"); do
    start_server --storage memory
    bench_pubsubgo "a-r${round}__pubsubgo-stream" "${pubsub_a[@]}" "${streams[@]}"
    bench_pubsubgo "b-r${round}__pubsubgo" "${pubsub_b[@]}" "${rest[@]}"
    bench_pubsubgo "b-r${round}__pubsubgo-stream" "${pubsub_b[@]}" "${streams[@]}"
    stop_servers
    if [[ "$(redis-cli -u "$pubsub_redis_url" ping 2>&1)" == PONG ]]; then
        prefix="$(fresh_redis_prefix)"
        start_server --storage redis --redis-url "$pubsub_redis_url" --redis-key-prefix "$prefix"
        bench_pubsubgo "a-r${round}__pubsubgo-redis-batch64" "${pubsub_a64[@]}" "${rest[@]}"
        bench_pubsubgo "a-r${round}__pubsubgo-redis-stream-batch64" "${pubsub_a64[@]}" "${streams[@]}"
        bench_pubsubgo "b-r${round}__pubsubgo-redis-stream" "${pubsub_b[@]}" "${streams[@]}"
        stop_servers
        delete_redis_keys "$prefix" || echo "warning: could not delete the keys under $prefix" >&2
    fi
    for system in redis-streams nats-jetstream; do
        bench_peer "a-r${round}__$system" "$system" "${peer_a[@]}"
        bench_peer "b-r${round}__$system" "$system" "${peer_b[@]}"
    done
done

echo "== memory: a fresh server, idle, then with 1,000,000 unconsumed 256 B messages" >&2
start_server --storage memory
# Idle means started and ready (its single-node Raft group has a leader and applied its log).
for _ in $(seq 1 100); do
    curl -fsS "$server_url/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
idle="$(rss_kib)"
idle_anon="$(rss_kib RssAnon)"
idle_file="$(rss_kib RssFile)"
"$cli_bin" --server "$server_url" topics create rss-check >/dev/null
"$cli_bin" --server "$server_url" subscriptions create rss-check-sub --topic rss-check >/dev/null
head -c 256 /dev/urandom >"$results/payload.bin"
"$cli_bin" --server "$server_url" publish rss-check --file "$results/payload.bin" \
    --count 1000000 --batch 1000 >/dev/null
loaded="$(rss_kib)"
echo "{\"idleKib\": $idle, \"idleAnonKib\": $idle_anon, \"idleFileKib\": $idle_file, \"loadedKib\": $loaded, \"loadedMessages\": 1000000, \"loadedSize\": 256}" \
    >"$results/memory.json"
cleanup

cat "$results/loads.txt" >>"$results/machine.txt"
note=""
[[ $quick -eq 1 ]] && note="Quick run (--quick): a tenth of the issue's message counts."
"$compare_bin" report --results "$results" --out "$root/BENCHMARKS.md" --note "$note"
echo "== wrote $root/BENCHMARKS.md (raw results in $results)" >&2
