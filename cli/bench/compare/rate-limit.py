#!/usr/bin/env python3
"""Per-principal rate limits under load (issue 16's benchmark): one principal
("noisy") sends publishes far over its limit while another ("quiet") publishes
at a steady pace well under it. The noisy principal's excess must be answered
429 (with Retry-After) and the quiet principal's publish p99 must stay within
2x of its p99 with nothing else running.

Starts one pubsubgo-server (memory storage, free loopback ports, authentication
on with two API keys allowed everything, PUBSUB_RATE_LIMIT_PRINCIPAL_PER_SECOND
set), then:
  1. unloaded: the quiet principal publishes one 256-byte message per request
     at --quiet-rate for --seconds, timing each request;
  2. loaded: the same again while --noisy-processes processes publish as the
     noisy principal at --noisy-rate requests per second in all, until the
     quiet run ends; at least --over of their requests must have been refused.
Each process has its own keep-alive connection, so the client's cost does
not queue one principal's requests behind the other's. A noisy connection the
server closed after a refusal is reopened and the request sent again (counted
as "reconnects", not as a request).

    cargo build --release --locked --bin pubsubgo-server
    python3 cli/bench/compare/rate-limit.py            # limit 100/s, 20 s per phase
"""

import argparse
import base64
import hashlib
import http.client
import json
import multiprocessing
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BODY = json.dumps({"messages": [{"data": base64.b64encode(b"x" * 256).decode()}]})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(conn, method, path, key, body=None):
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    conn.request(method, path, body=body, headers=headers)
    answer = conn.getresponse()
    answer.read()
    return answer.status, answer.getheader("Retry-After")


def quiet(port, key, rate, seconds, out):
    """Publishes at `rate` per second for `seconds`; puts (latencies, statuses)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies, statuses = [], {}
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        pause = start + i / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        sent = time.perf_counter()
        status, _ = request(conn, "POST", "/v1/topics/quiet:publish", key, BODY)
        latencies.append(time.perf_counter() - sent)
        statuses[status] = statuses.get(status, 0) + 1
    out.put((latencies, statuses))


def noisy(port, key, rate, stop, out):
    """Publishes at `rate` per second until `stop` is set; puts its counts."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    counts = {"sent": 0, "ok": 0, "429": 0, "429 without Retry-After": 0, "other": 0, "reconnects": 0}
    start = time.perf_counter()
    while not stop.is_set():
        pause = start + counts["sent"] / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        try:
            status, retry_after = request(conn, "POST", "/v1/topics/noisy:publish", key, BODY)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # The server answers a refusal before reading the request body and then
            # sometimes closes the keep-alive connection (without `Connection: close`):
            # open a new one and send again; the request is not counted.
            counts["reconnects"] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        counts["sent"] += 1
        if status == 200:
            counts["ok"] += 1
        elif status == 429:
            counts["429"] += 1
            if not retry_after:
                counts["429 without Retry-After"] += 1
        else:
            counts["other"] += 1
    out.put(counts)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(name, latencies, statuses):
    ms = [v * 1000 for v in latencies]
    return (f"{name}: {len(ms)} publishes {statuses}, p50 {statistics.median(ms):.2f} ms, "
            f"p99 {percentile(ms, 0.99):.2f} ms, max {max(ms):.2f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-bin", default=os.path.join(ROOT, "target/release/pubsubgo-server"))
    parser.add_argument("--limit", type=int, default=100, help="requests per second per principal")
    parser.add_argument("--quiet-rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--noisy-rate", type=float, default=1500.0, help="requests per second, all noisy processes")
    parser.add_argument("--noisy-processes", type=int, default=2)
    parser.add_argument("--over", type=int, default=10_000, help="refused requests the noisy principal must see")
    args = parser.parse_args()

    keys = {"quiet": secrets.token_hex(32), "noisy": secrets.token_hex(32)}
    work = tempfile.mkdtemp(prefix="rate-limit-")
    with open(os.path.join(work, "api-keys.yaml"), "w") as f:
        f.write("keys:\n")
        for principal, key in keys.items():
            f.write(f"  - principal: {principal}\n    sha256: {hashlib.sha256(key.encode()).hexdigest()}\n")
    with open(os.path.join(work, "policy.yaml"), "w") as f:
        f.write("principals:\n")
        for principal in keys:
            f.write(f'  {principal}:\n    - resources: ["*"]\n      actions: [publish, consume, manage, admin]\n')
    port = free_port()
    env = dict(os.environ, PUBSUB_LOG_ACCESS="false", PUBSUB_RATE_LIMIT_PRINCIPAL_PER_SECOND=str(args.limit))
    server = subprocess.Popen(
        [args.server_bin, "--host", "127.0.0.1", "--port", str(port), "--peer-port", str(free_port()),
         "--metrics-enabled", "false", "--grpc-enabled", "false", "--data-dir", os.path.join(work, "data"),
         "--auth-enabled", "true", "--auth-api-keys-file", os.path.join(work, "api-keys.yaml"),
         "--auth-policy-file", os.path.join(work, "policy.yaml")],
        env=env, stdout=open(os.path.join(work, "server.log"), "w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                if request(conn, "GET", "/readyz", keys["quiet"])[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit(f"the server did not become ready; see {work}/server.log")
            time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for topic in ("quiet", "noisy"):
            status, _ = request(conn, "PUT", f"/v1/topics/{topic}", keys["quiet"], "{}")
            assert status in (200, 201), f"create topic {topic}: {status}"
        time.sleep(1.5)  # let the quiet principal's bucket refill after the set-up calls

        print(f"load before: {open('/proc/loadavg').read().split()[:3]}, {os.cpu_count()} cores; "
              f"limit {args.limit}/s per principal, quiet {args.quiet_rate}/s, noisy {args.noisy_rate}/s "
              f"in {args.noisy_processes} processes, {args.seconds} s per phase")
        results = multiprocessing.Queue()
        quiet_run = multiprocessing.Process(target=quiet, args=(port, keys["quiet"], args.quiet_rate, args.seconds, results))
        quiet_run.start()
        unloaded = results.get()
        quiet_run.join()
        print(summary("unloaded", *unloaded))

        stop = multiprocessing.Event()
        counts = multiprocessing.Queue()
        noisy_runs = [
            multiprocessing.Process(target=noisy, args=(port, keys["noisy"], args.noisy_rate / args.noisy_processes, stop, counts))
            for _ in range(args.noisy_processes)
        ]
        for run in noisy_runs:
            run.start()
        quiet_run = multiprocessing.Process(target=quiet, args=(port, keys["quiet"], args.quiet_rate, args.seconds, results))
        quiet_run.start()
        loaded = results.get()
        quiet_run.join()
        stop.set()
        total = {}
        for _ in noisy_runs:
            for name, value in counts.get().items():
                total[name] = total.get(name, 0) + value
        for run in noisy_runs:
            run.join()
        print(summary("loaded", *loaded))
        print(f"noisy: {total}")
        print(f"load after: {open('/proc/loadavg').read().split()[:3]}")

        p99_unloaded = percentile(unloaded[0], 0.99)
        p99_loaded = percentile(loaded[0], 0.99)
        ratio = p99_loaded / p99_unloaded
        verdicts = [
            (total["429"] >= args.over, f"noisy requests refused with 429: {total['429']} (at least {args.over})"),
            (total["429 without Retry-After"] == 0 and total["other"] == 0, "every refusal is a 429 with Retry-After"),
            (set(loaded[1]) == {200} and set(unloaded[1]) == {200}, "every quiet publish succeeded"),
            (ratio <= 2.0, f"quiet p99 loaded / unloaded = {ratio:.2f} (at most 2)"),
        ]
        for ok, text in verdicts:
            print(("ok   " if ok else "FAIL ") + text)
        sys.exit(0 if all(ok for ok, _ in verdicts) else 1)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
