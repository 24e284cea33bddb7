#!/usr/bin/env python3
"""Redis CPU per message of a lease's read three ways (BENCHMARKS.md, "What a
packed read would cost Redis").

Starts a redis-server on a free port (no persistence), adds N format-2 entries
of 256 B (fields `e` and `b`, as the append script writes them), then reads
them all back in pages of 64:

- `XRANGE … COUNT 64`, as a lease reads today: a nested reply, an array per
  entry and per field list;
- a script that returns one flat array of id, `e`, id, `e`, …;
- a script that returns one string of `id len e` records.

Both scripts would spare the broker the reply's nested values, and both make
Redis convert the `XRANGE` reply into Lua tables first. Prints Redis's own CPU
(`INFO cpu`, user + sys) and the reply bytes per message, per round.

    node/benches/packed-read-cost.py [N] [--rounds R]
"""

import os
import struct
import sys

from redis_probe import private_redis

PAGE = 64
SIZE = 256

FLAT = """
local r = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])
local out = {}
for _, e in ipairs(r) do
  out[#out + 1] = e[1]
  out[#out + 1] = e[2][2]
end
return out
"""

CONCAT = """
local r = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])
local out = {}
for _, e in ipairs(r) do
  local v = e[2][2]
  out[#out + 1] = e[1] .. ' ' .. #v .. ' ' .. v
end
return table.concat(out)
"""


def last_id_of_records(records):
    """The last id in a CONCAT reply (`id len e` records back to back)."""
    at, last = 0, None
    while at < len(records):
        space = records.index(b" ", at)
        last = records[at:space]
        length_end = records.index(b" ", space + 1)
        at = length_end + 1 + int(records[space + 1:length_end])
    return last


def fill(r, n):
    r.cmd("FLUSHALL")
    for page in range(n // PAGE):
        r.pipe([["XADD", "l", "*", "e",
                 struct.pack(">BQIBB", 2, 0, SIZE, 4, 0) + os.urandom(SIZE),
                 "b", (page * PAGE + i) * SIZE] for i in range(PAGE)])


def read_all(r, n, script):
    """Redis CPU µs and reply bytes per message of reading `n` entries in pages."""
    sha = r.cmd("SCRIPT", "LOAD", script).decode() if script else None
    before, received = r.cpu(), r.received
    after = "-"
    for _ in range(n // PAGE):
        if script is None:
            reply = r.cmd("XRANGE", "l", after, "+", "COUNT", PAGE)
            last = reply[-1][0]
        else:
            reply = r.cmd("EVALSHA", sha, 1, "l", after, PAGE)
            last = reply[-2] if script is FLAT else last_id_of_records(reply)
        after = b"(" + last
    return (r.cpu() - before) * 1e6 / n, (r.received - received) / n


def main():
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), 64_000))
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    ways = {"XRANGE": None, "flat script": FLAT, "concatenating script": CONCAT}
    print(f"{n} messages of {SIZE} B read in pages of {PAGE}; Redis CPU and reply bytes per message")
    with private_redis() as r:
        fill(r, n)
        for round_ in range(rounds):
            cells = [f"{name} {cpu:.2f} µs, {size:.0f} B"
                     for name, script in ways.items()
                     for cpu, size in [read_all(r, n, script)]]
            print(f"round {round_ + 1}: " + "; ".join(cells))


if __name__ == "__main__":
    main()
