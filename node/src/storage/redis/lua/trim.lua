-- Applies retention to one partition: drops entries published before
-- now - max age, and the oldest entries while the partition passes a size
-- bound. KEYS: meta, log. ARGV: now, max age, max bytes, max messages (each
-- '' when unset). Returns how many offsets were dropped; -1 when the
-- partition does not exist.
local meta, log = KEYS[1], KEYS[2]
local m = redis.call('HMGET', meta, 'start', 'end', 'appended')
if not m[1] then
  return -1
end
local start, stop, appended = tonumber(m[1]), tonumber(m[2]), tonumber(m[3])
local cut = size_cut(log, start, stop, appended, optional(ARGV[3]), optional(ARGV[4]))
if ARGV[2] ~= '' then
  local oldest = tonumber(ARGV[1]) - tonumber(ARGV[2])
  local c = search(log, start, stop, function(f) return tonumber(f.t) >= oldest end)
  if c > cut then cut = c end
end
cut_log(meta, log, start, cut)
return cut - start
