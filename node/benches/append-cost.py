#!/usr/bin/env python3
"""Redis CPU per message of the append script against plain XADDs.

Starts a redis-server on a free port (no persistence) and appends N messages of
256 B in batches of 64 three ways, reading Redis's own CPU (INFO cpu) before and
after each: the append script as the broker runs it (EVALSHA, 9 arguments per
message), pipelined XADDs with the same four fields, and pipelined `XADD * d`
(what the Redis Streams peer sends). Also, with --parts: the script's argument
passing alone (a script that returns at once) and a script that only XADDs one
field per message, to split the script's cost.

    node/benches/append-cost.py [N] [--parts]
"""

import os
import sys
import time

from redis_probe import private_redis

LUA = os.path.join(os.path.dirname(__file__), "../src/storage/redis/lua")
BATCH = 64


def main():
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), 64_000))
    with private_redis() as r:
        prelude = open(os.path.join(LUA, "prelude.lua")).read() + "\n"
        payload = os.urandom(128).hex()
        now = str(int(time.time() * 1000))

        def script_rows(source):
            sha = r.cmd("SCRIPT", "LOAD", prelude + source).decode()

            def run():
                for b in range(n // BATCH):
                    args = ["1", f"t{b}", str(BATCH), "", "", "old"]
                    for _ in range(BATCH):
                        args += ["256", payload, "", "", "4", now, "", "", ""]
                    r.cmd("EVALSHA", sha, 3, "e", "m", "l", *args)
            return run

        def xadd_fields():
            offset = 0
            for _ in range(n // BATCH):
                commands = []
                for _ in range(BATCH):
                    offset += 1
                    commands.append(["XADD", "l", f"0-{offset}", "b", offset * 256, "t", now,
                                     "p", "4", "d", payload])
                r.pipe(commands)

        def xadd_one():
            for _ in range(n // BATCH):
                r.pipe([["XADD", "l", "*", "d", payload]] * BATCH)

        rows = [("append script (EVALSHA, batches of 64)",
                 script_rows(open(os.path.join(LUA, "append.lua")).read())),
                ("pipelined XADD, the same 4 fields", xadd_fields),
                ("pipelined XADD * d (the peer's)", xadd_one)]
        if "--parts" in sys.argv:
            rows += [("script that returns at once (argument passing only)",
                      script_rows("return {1, 0, 0}")),
                     ("script that only XADDs one field per message", script_rows(
                         "local f = tonumber(redis.call('HGET', KEYS[2], 'end'))\n"
                         "for i = 0, tonumber(ARGV[3]) - 1 do\n"
                         "  redis.call('XADD', KEYS[3], '0-' .. (f + i + 1), 'd', ARGV[8 + i * 9])\n"
                         "end\n"
                         "redis.call('HSET', KEYS[2], 'end', f + tonumber(ARGV[3]))\n"
                         "return {1, f, 0}"))]
        for name, run in rows:
            r.cmd("FLUSHALL")
            r.cmd("HSET", "m", "start", 0, "end", 0, "appended", 0)
            before = r.cpu()
            run()
            print(f"{name}: {(r.cpu() - before) * 1e6 / n:.2f} µs of Redis CPU per message")


if __name__ == "__main__":
    main()
