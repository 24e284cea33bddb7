#!/usr/bin/env bash
# Broker CPU per message of one node against three (clients spread over the
# three, so two thirds of the calls are forwarded to the partitions' owners),
# both on Redis storage (a private redis-server): issue 18's target 4, in
# counts. Each server's instructions come from callgrind (CALLGRIND=1, the
# default; counters zeroed once the nodes are ready), or its CPU time from
# /proc (CALLGRIND=0); the peer calls each node sent from its /metrics.
#
#   SERVER=target/release/pubsubgo-server CLI=target/release/pubsub-cli \
#     MESSAGES=20000 BATCH=64 TRANSPORT=stream node/benches/cluster-hop-profile.sh [1|3]...
#
# BATCH is the messages per request or frame; TRANSPORT is `stream`
# (:publishStream + :stream, binary frames) or `rest` (HTTP publish + pull).
set -euo pipefail

source "$(dirname "$0")/profile-common.sh" cluster-hop-profile
batch="${BATCH:-64}"
transport="${TRANSPORT:-stream}"
clk_tck="$(getconf CLK_TCK)"
proc_cpu() { # pids... -> "user,system" seconds
    local pid user=0 system=0 fields
    for pid in "$@"; do
        read -ra fields < <(sed 's/^.*) //' "/proc/$pid/stat")
        user=$((user + fields[11])); system=$((system + fields[12]))
    done
    python3 -c 'import sys; print(f"{int(sys.argv[1]) / int(sys.argv[3])},{int(sys.argv[2]) / int(sys.argv[3])}")' "$user" "$system" "$clk_tck"
}
peer_calls() { # metrics urls... -> "name=count ..." summed
    for url in "$@"; do curl -fsS "$url/metrics" 2>/dev/null || true; done |
        awk '/^pubsubgo_peer_calls_total\{/ { match($0, /call="[^"]*"/); c = substr($0, RSTART+6, RLENGTH-7); n[c] += $NF }
             END { for (c in n) printf "%s=%d ", c, n[c] }'
}

case "$transport" in
    stream) flow=(--transport stream --publish-transport stream --encoding binary) ;;
    rest) flow=(--transport pull --publish-transport http) ;;
    *) echo "TRANSPORT is stream or rest" >&2; exit 2 ;;
esac

run() { # nodes
    local nodes="$1" i peers="" prefix="hop-$1-$RANDOM"
    local -a ports peer_ports metrics servers urls metric_urls
    for i in $(seq 1 "$nodes"); do
        ports[i]="$(free_port)"; peer_ports[i]="$(free_port)"; metrics[i]="$(free_port)"
        peers+="${peers:+,}$i=127.0.0.1:${peer_ports[i]}"
    done
    servers=()
    for i in $(seq 1 "$nodes"); do
        local wrap=() cluster=()
        [ "$callgrind" = 1 ] && wrap=(valgrind --tool=callgrind "--callgrind-out-file=$work/callgrind.n$nodes.$i")
        [ "$nodes" -gt 1 ] && cluster=(--node-id "$i" --peers "$peers")
        "${wrap[@]}" "$server_bin" --host 127.0.0.1 --port "${ports[i]}" --metrics-port "${metrics[i]}" \
            --grpc-enabled false --peer-port "${peer_ports[i]}" --data-dir "$work/data-$nodes-$i" \
            --log-level warn --storage redis --redis-url "redis://127.0.0.1:$redis_port" \
            --redis-key-prefix "$prefix" --redis-connect-timeout-millis 10000 \
            --redis-response-timeout-millis 60000 "${cluster[@]}" >"$work/server-$nodes-$i.log" 2>&1 &
        servers+=($!); pids+=($!)
        urls+=("http://127.0.0.1:${ports[i]}"); metric_urls+=("http://127.0.0.1:${metrics[i]}")
    done
    for url in "${urls[@]}"; do until curl -fsS "$url/healthz" >/dev/null 2>&1; do sleep 0.5; done; done
    if [ "$nodes" -gt 1 ]; then
        until "$cli_bin" --server "${urls[0]}" --format json cluster status 2>/dev/null |
            python3 -c 'import json, sys; n = json.load(sys.stdin)["nodes"]; sys.exit(0 if len(n) == '"$nodes"' and all(x["live"] for x in n) else 1)'; do
            sleep 0.5
        done
    fi
    local spread
    spread="$(IFS=,; echo "${urls[*]}")"
    [ "$callgrind" = 1 ] && for pid in "${servers[@]}"; do callgrind_control -z "$pid" >/dev/null 2>&1; done
    local cpu0 redis0 calls0 load
    cpu0="$(proc_cpu "${servers[@]}")"; redis0="$(redis_cpu)"; calls0="$(peer_calls "${metric_urls[@]}")"
    load="$(cut -d' ' -f1-3 /proc/loadavg)"
    local perf_pid=""
    if [ -n "${PERF_DIR:-}" ]; then
        mkdir -p "$PERF_DIR"
        perf record -F 1999 -g -o "$PERF_DIR/perf.n$nodes.data" -p "$(IFS=,; echo "${servers[*]}")" \
            >/dev/null 2>&1 &
        perf_pid=$!
        sleep 1
    elif [ -n "${PERF_STAT:-}" ]; then
        perf stat -e task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter \
            -p "$(IFS=,; echo "${servers[*]}")" -o "$work/perf-stat-$nodes.txt" >/dev/null 2>&1 &
        perf_pid=$!
        sleep 1
    fi
    if [ -n "${IDLE_SECONDS:-}" ]; then
        # The nodes' own background work (Raft heartbeats, liveness, upkeep) over a
        # time, with no clients: the share of a run's CPU that is not per message.
        sleep "$IDLE_SECONDS"
        echo "$nodes node(s) idle for $IDLE_SECONDS s: CPU $(python3 -c 'import sys; a = sum(map(float, sys.argv[1].split(","))); b = sum(map(float, sys.argv[2].split(","))); print(f"{1000 * (b - a) / float(sys.argv[3]):.1f} ms/s")' "$cpu0" "$(proc_cpu "${servers[@]}")" "$IDLE_SECONDS")"
        for pid in "${servers[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
        for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
        return
    fi
    "$cli_bin" --server "${urls[0]}" --timeout 120 --format json bench --servers "$spread" \
        --producers 4 --consumers 4 --window 256 --messages "$messages" --size 256 \
        --batch "$batch" --partitions 4 "${flow[@]}" >"$work/bench-$nodes.txt" 2>"$work/bench-$nodes.err" \
        || echo "  (bench exited $?: $(tail -n 2 "$work/bench-$nodes.err"))"
    local cpu1 redis1 calls1
    cpu1="$(proc_cpu "${servers[@]}")"; redis1="$(redis_cpu)"; calls1="$(peer_calls "${metric_urls[@]}")"
    if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
    if [ -f "$work/perf-stat-$nodes.txt" ]; then
        awk -v m="$messages" '$2 ~ /context-switches|cpu-migrations|sys_enter/ { gsub(",", "", $1); printf "  %s per message: %.3f\n", $2, $1 / m }' "$work/perf-stat-$nodes.txt"
    fi
    local total=0
    if [ "$callgrind" = 1 ]; then
        for pid in "${servers[@]}"; do callgrind_control -d "$pid" >/dev/null 2>&1; done
        for i in $(seq 1 "$nodes"); do
            local dump
            dump="$(ls -t "$work"/callgrind.n$nodes.$i* 2>/dev/null | grep -v '\.txt$' | head -1)"
            local n
            n="$(grep -m1 '^summary:' "$dump" | awk '{print $2}')"
            total=$((total + n))
        done
    fi
    python3 - "$nodes" "$messages" "$cpu0" "$cpu1" "$redis0" "$redis1" "$total" "$load" "$calls0" "$calls1" "$work/bench-$nodes.txt" <<'PY'
import json, sys
nodes, m, c0, c1, r0, r1, total, load, k0, k1, bench = sys.argv[1:]
m = int(m)
(u0, s0), (u1, s1) = (map(float, c0.split(","))), (map(float, c1.split(",")))
us = lambda a, b: 1e6 * (b - a) / m
parse = lambda s: dict((kv.split("=")[0], int(kv.split("=")[1])) for kv in s.split())
k0, k1 = parse(k0), parse(k1)
calls = {k: (v - k0.get(k, 0)) / m for k, v in k1.items() if v - k0.get(k, 0)}
try:
    b = json.load(open(bench)); v = b["verification"]; got = f"received {v.get('received')} lost {v.get('lost')} dup {v.get('duplicates')}, {b['endToEnd']['seconds']:.1f} s"
except Exception as e:
    got = f"bench output unreadable ({e})"
print(f"{nodes} node(s), {m} messages, load before {load}: broker CPU {us(u0 + s0, u1 + s1):.1f} µs/msg (user {us(u0, u1):.1f}, system {us(s0, s1):.1f}), "
      f"Redis CPU {1e6*(float(r1)-float(r0))/m:.1f} µs/msg"
      + (f", {int(total)/m:,.0f} instructions/msg" if int(total) else "") + f"; {got}")
print("  peer calls per message: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(calls.items())))
PY
    for pid in "${servers[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
}

for nodes in "${@:-1 3}"; do run $nodes; done
