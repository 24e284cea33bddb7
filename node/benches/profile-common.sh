# Sourced by the profile scripts beside this (cluster-hop-profile.sh,
# redis-path-profile.sh): their common settings, a work directory removed at
# exit (its callgrind files and *.txt copied to KEEP_DIR first, when set), a
# free port, and a private redis-server on it, nothing on disk.
#
#   source "$(dirname "$0")/profile-common.sh" NAME
#
# Sets server_bin, cli_bin, messages, callgrind, work, pids (killed at exit),
# redis_port; defines free_port, rcli and redis_cpu (Redis's user + system
# CPU seconds so far, from INFO cpu).

server_bin="${SERVER:-target/release/pubsubgo-server}"
cli_bin="${CLI:-target/release/pubsub-cli}"
messages="${MESSAGES:-20000}"
callgrind="${CALLGRIND:-1}"
keep="${KEEP_DIR:-}"
work="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "$keep" ]; then mkdir -p "$keep" && cp -r "$work"/callgrind.* "$work"/*.txt "$keep"/ 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
    >"$work/redis.log" 2>&1 &
pids+=($!)
rcli() { redis-cli -p "$redis_port" "$@"; }
until rcli ping >/dev/null 2>&1; do sleep 0.1; done
redis_cpu() { rcli info cpu | awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {printf "%.6f", s}'; }
