-- Appends a batch to one partition in entry format 1 (one field per value),
-- fenced by the owner epoch, within the topic's size bounds.
-- KEYS: epoch, meta, log. ARGV: epoch, batch token, message count, max bytes,
-- max messages (each '' when unbounded), discard ('old' or 'new'), then per
-- message: size, data, attributes, '=' .. ordering key, priority, publish time,
-- deliver-at, expire-at, compression of the data (empty strings for absent values).
-- With an idempotency key, KEYS[4] is its dedup key and the last ARGV its TTL
-- in milliseconds.
-- Returns {1, first offset, partition start} stored (with discard 'old' the
-- start may have moved past the oldest messages); {2, first offset} when this
-- token's batch, or this idempotency key's, was already stored (a retried call
-- or publish); {0, current epoch} when fenced; {-1} when the partition does
-- not exist; {3, 0} (messages) or {3, 1} (bytes) when discard is 'new' and
-- the batch would pass that bound.
-- Nothing is stored unless the reply is 1.
local log = KEYS[3]
local refused, first, bytes, start = admit(function(i) return tonumber(ARGV[7 + i * 9]) end)
if refused then
  return refused
end
local n = tonumber(ARGV[3])
for i = 0, n - 1 do
  local a = 7 + i * 9
  local fields = {'b', int(bytes), 't', ARGV[a + 5], 'p', ARGV[a + 4], 'd', ARGV[a + 1]}
  if ARGV[a + 2] ~= '' then
    fields[#fields + 1] = 'a'
    fields[#fields + 1] = ARGV[a + 2]
  end
  if ARGV[a + 3] ~= '' then
    fields[#fields + 1] = 'k'
    fields[#fields + 1] = string.sub(ARGV[a + 3], 2)
  end
  if ARGV[a + 6] ~= '' then
    fields[#fields + 1] = 'da'
    fields[#fields + 1] = ARGV[a + 6]
  end
  if ARGV[a + 7] ~= '' then
    fields[#fields + 1] = 'ea'
    fields[#fields + 1] = ARGV[a + 7]
  end
  if ARGV[a + 8] ~= '' then
    fields[#fields + 1] = 'z'
    fields[#fields + 1] = ARGV[a + 8]
  end
  redis.call('XADD', log, '0-' .. int(first + i + 1), unpack(fields))
  bytes = bytes + tonumber(ARGV[a])
end
return commit(first, n, bytes, start, ARGV[7 + n * 9])
