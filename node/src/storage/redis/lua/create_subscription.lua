-- Starts a subscription's cursor on one partition, atomically with appends,
-- unless it exists. KEYS: meta, subs, cursor. ARGV: name, 'earliest' | 'latest'.
-- Returns 1 created, 0 already there, -1 when the partition does not exist.
local meta, subs, cursor = KEYS[1], KEYS[2], KEYS[3]
local m = redis.call('HMGET', meta, 'start', 'end')
if not m[1] then
  return -1
end
redis.call('SADD', subs, ARGV[1])
if redis.call('EXISTS', cursor) == 1 then
  return 0
end
local first = m[1]
if ARGV[2] == 'latest' then
  first = m[2]
end
redis.call('HSET', cursor, 'next', first, 'acked_below', first, 'expired', '0', 'served', '0')
return 1
