-- Applies retention to one partition: drops entries published before
-- now - max age, and the oldest entries while the retained bytes exceed the
-- bound. KEYS: meta, log. ARGV: now, max age (or ''), max bytes (or '').
-- Returns how many offsets were dropped; -1 when the partition does not exist.
local meta, log = KEYS[1], KEYS[2]
local m = redis.call('HMGET', meta, 'start', 'end', 'appended')
if not m[1] then
  return -1
end
local start, stop, appended = tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
local cut = start
if ARGV[2] ~= '' then
  local oldest = tonumber(ARGV[1]) - tonumber(ARGV[2])
  local c = search(log, start, stop, function(f) return tonumber(f.t) >= oldest end)
  if c > cut then cut = c end
end
if ARGV[3] ~= '' then
  -- 'b' is the bytes appended before an entry, so appended - b is what
  -- keeping that entry and everything after it retains.
  local floor = appended - tonumber(ARGV[3])
  local c = search(log, start, stop, function(f) return tonumber(f.b) >= floor end)
  if c > cut then cut = c end
end
if cut > start then
  redis.call('XTRIM', log, 'MINID', '0-' .. int(cut + 1))
  redis.call('HSET', meta, 'start', int(cut))
end
return cut - start
