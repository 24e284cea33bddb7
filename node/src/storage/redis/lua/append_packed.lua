-- Appends a batch to one partition in entry format 2 (packed_entry.rs):
-- each entry is `b` (bytes appended before it) and `e` (everything else, one
-- argument per message). Fenced by the owner epoch, within the topic's size
-- bounds. KEYS: epoch, meta, log (and the dedup key). ARGV: epoch, batch
-- token, message count, max bytes, max messages (each '' when unbounded),
-- discard ('old' or 'new'), then per message its `e` field; with an
-- idempotency key the last ARGV is its TTL in milliseconds. Replies as
-- append.lua.
local log = KEYS[3]
local refused, first, bytes, start = admit(function(i) return packed_size(ARGV[7 + i]) end)
if refused then
  return refused
end
local n = tonumber(ARGV[3])
for i = 0, n - 1 do
  local e = ARGV[7 + i]
  redis.call('XADD', log, '0-' .. int(first + i + 1), 'b', int(bytes), 'e', e)
  bytes = bytes + packed_size(e)
end
return commit(first, n, bytes, start, ARGV[7 + n])
