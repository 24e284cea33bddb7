#!/usr/bin/env bash
# Instructions and Redis CPU per message of the Redis-storage stream path, in
# each entry format (docs/storage.md, "Entry formats"): one release
# pubsubgo-server under callgrind on a private redis-server, loaded by
# `pubsub-cli bench` (4 producers over :publishStream, 4 consumers over
# :stream, binary frames, window 256). Counts, not rates: the server's
# instructions (callgrind, counters zeroed once the server is up), Redis's CPU
# (INFO cpu) and its commands (INFO commandstats) per message.
#
#   SERVER=target/release/pubsubgo-server CLI=target/debug/pubsub-cli \
#     MESSAGES=20000 node/benches/redis-path-profile.sh
#
# CALLGRIND=0 runs the server without callgrind (Redis's counts only).
set -euo pipefail

source "$(dirname "$0")/profile-common.sh" redis-path-profile

for format in 1 2; do
    prefix="profile-f$format"
    # A prefix set before the first node starts is written in that format.
    rcli set "$prefix:format" "$format" >/dev/null
    port="$(free_port)"
    wrap=()
    if [ "$callgrind" = 1 ]; then
        wrap=(valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.f$format.%p")
    fi
    "${wrap[@]}" "$server_bin" --host 127.0.0.1 --port "$port" --metrics-port "$(free_port)" \
        --grpc-enabled false --peer-port "$(free_port)" --data-dir "$work/data-f$format" \
        --log-level warn --storage redis --redis-url "redis://127.0.0.1:$redis_port" \
        --redis-key-prefix "$prefix" --redis-connect-timeout-millis 10000 \
        --redis-response-timeout-millis 60000 >"$work/server-f$format.log" 2>&1 &
    server=$!
    pids+=("$server")
    until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do sleep 0.5; done
    [ "$callgrind" = 1 ] && callgrind_control -z "$server" >/dev/null 2>&1
    rcli config resetstat >/dev/null
    before="$(redis_cpu)"
    # Under callgrind the bench may give up on a slow close handshake after
    # every message went through: its figures are then missing, not wrong.
    "$cli_bin" --server "http://127.0.0.1:$port" --timeout 120 bench --producers 4 --consumers 4 \
        --messages "$messages" --window 256 --publish-transport stream --transport stream \
        --encoding binary >"$work/bench-f$format.txt" 2>&1 || echo "  (bench exited $?)"
    after="$(redis_cpu)"
    [ "$callgrind" = 1 ] && callgrind_control -d "$server" >/dev/null 2>&1
    kill -INT "$server"
    wait "$server" || true
    instructions=0
    dump="$(ls -t "$work"/callgrind.f$format.*.1 2>/dev/null | head -1 || true)"
    if [ -n "$dump" ]; then
        instructions="$(grep -m1 '^summary:' "$dump" | awk '{print $2}')"
        callgrind_annotate --inclusive=no "$dump" 2>/dev/null | sed -n '/Ir/,$p' | head -40 >"$work/top-f$format.txt"
        cp "$work/top-f$format.txt" "${TOP_DIR:-$work}/" 2>/dev/null || true
    fi
    echo "format $format: $messages messages"
    sed 's/^/  /' "$work/bench-f$format.txt"
    python3 - "$instructions" "$before" "$after" "$messages" <<'EOF'
import sys
instructions, before, after, n = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"  server instructions per message: {instructions / n:,.0f}")
print(f"  Redis CPU per message: {(after - before) * 1e6 / n:.2f} µs")
EOF
    rcli info commandstats | tr -d '\r' | awk -F'[:=,]' -v n="$messages" \
        '/^cmdstat_/ {printf "  %s: %.3f calls, %.2f µs per message\n", substr($1, 9), $3 / n, $5 / n}'
done
