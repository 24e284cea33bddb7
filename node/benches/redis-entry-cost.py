#!/usr/bin/env python3
"""Redis CPU per message of the two entry formats (docs/storage.md, "Entry formats").

Starts a redis-server on a free port (no persistence) and, for each format,
appends N messages of 256 B in batches of 64 through the broker's own append
script (prelude.lua + append.lua with nine arguments per message, or
prelude.lua + append_packed.lua with one), then reads them all back with
`XRANGE … COUNT 64` as a lease does. Prints, per message, Redis's own CPU
(`INFO cpu`, user + sys) and its `INFO commandstats` time for the append and
for the reads, and the bytes of the `XRANGE` replies. Counts of CPU time, not
wall-clock rates, so a loaded machine changes them little.

    node/benches/redis-entry-cost.py [N] [--rounds R]
"""

import os
import struct
import sys
import time

from redis_probe import private_redis

LUA = os.path.join(os.path.dirname(__file__), "../src/storage/redis/lua")
BATCH = 64
SIZE = 256


def packed(now):
    """A format-2 `e` field: no optional parts, uncompressed (packed_entry.rs)."""
    return struct.pack(">BQIBB", 2, now, SIZE, 4, 0) + os.urandom(SIZE)


def fields(now):
    """The nine format-1 arguments of append.lua for one message."""
    return [str(SIZE), os.urandom(SIZE), "", "", "4", str(now), "", "", ""]


def measure(r, script, per_message, n):
    prelude = open(os.path.join(LUA, "prelude.lua")).read() + "\n"
    sha = r.cmd("SCRIPT", "LOAD", prelude + open(os.path.join(LUA, script)).read()).decode()
    r.cmd("FLUSHALL")
    r.cmd("CONFIG", "RESETSTAT")
    r.cmd("HSET", "m", "start", 0, "end", 0, "appended", 0)
    now = int(time.time() * 1000)
    batches = [[a for _ in range(BATCH) for a in per_message(now)] for _ in range(n // BATCH)]
    before = r.cpu()
    for b, args in enumerate(batches):
        r.cmd("EVALSHA", sha, 3, "e", "m", "l", "1", f"t{b}", BATCH, "", "", "old", *args)
    append_cpu = r.cpu() - before
    append_usec = r.usec("evalsha")
    before, received = r.cpu(), r.received
    for b in range(n // BATCH):
        r.cmd("XRANGE", "l", f"0-{b * BATCH + 1}", "+", "COUNT", BATCH)
    read_cpu = r.cpu() - before
    return {
        "append CPU": append_cpu * 1e6 / n,
        "append commandstats": append_usec / n,
        "XRANGE CPU": read_cpu * 1e6 / n,
        "XRANGE commandstats": r.usec("xrange") / n,
        "XRANGE reply bytes": (r.received - received) / n,
        "memory": int(r.cmd("MEMORY", "USAGE", "l", "SAMPLES", "0")) / n,
    }


def main():
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), 64_000))
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    with private_redis() as r:
        runs = {"format 1 (append.lua)": [], "format 2 (append_packed.lua)": []}
        for _ in range(rounds):
            runs["format 1 (append.lua)"].append(measure(r, "append.lua", fields, n))
            runs["format 2 (append_packed.lua)"].append(
                measure(r, "append_packed.lua", lambda now: [packed(now)], n))
        print(f"{n} messages of {SIZE} B, batches of {BATCH}, medians of {rounds} rounds, "
              "per message:")
        for name, results in runs.items():
            cells = []
            for key in results[0]:
                values = sorted(x[key] for x in results)
                unit = "B" if key in ("XRANGE reply bytes", "memory") else "µs"
                cells.append(f"{key} {values[len(values) // 2]:.2f} {unit}")
            print(f"{name}: " + "; ".join(cells))


if __name__ == "__main__":
    main()
