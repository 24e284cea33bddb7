-- The first offset published at or after a time (the end if none).
-- KEYS: meta, log. ARGV: time. Returns -1 when the partition does not exist.
local meta, log = KEYS[1], KEYS[2]
local m = redis.call('HMGET', meta, 'start', 'end')
if not m[1] then
  return -1
end
local t = tonumber(ARGV[1])
return search(log, tonumber(m[1]), tonumber(m[2]), function(f) return tonumber(f.t) >= t end)
