-- Appends a batch to one partition, fenced by the owner epoch, within the
-- topic's size bounds.
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
local epoch_key, meta, log = KEYS[1], KEYS[2], KEYS[3]
local m = redis.call('HMGET', meta, 'end', 'appended', 'batch', 'batch_first')
if not m[1] then
  return {-1}
end
local epoch = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', epoch_key) or '0')
if epoch < current then
  return {0, current}
end
if m[3] == ARGV[2] then
  return {2, tonumber(m[4])}
end
local dedup = KEYS[4]
if dedup then
  local seen = redis.call('GET', dedup)
  if seen then
    return {2, tonumber(seen)}
  end
end
local first, bytes = tonumber(m[1]), tonumber(m[2])
local n = tonumber(ARGV[3])
local max_bytes, max_messages = optional(ARGV[4]), optional(ARGV[5])
local start = tonumber(redis.call('HGET', meta, 'start'))
if ARGV[6] == 'new' and (max_bytes or max_messages) then
  if max_messages and first - start + n > max_messages then
    return {3, 0}
  end
  if max_bytes then
    local retained = 0
    local oldest, fields = entry_from(log, start)
    if oldest ~= nil then
      retained = bytes - tonumber(fields.b)
    end
    for i = 0, n - 1 do
      retained = retained + tonumber(ARGV[7 + i * 9])
    end
    if retained > max_bytes then
      return {3, 1}
    end
  end
end
if epoch > current then
  redis.call('SET', epoch_key, ARGV[1])
end
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
redis.call('HSET', meta, 'end', int(first + n), 'appended', int(bytes),
  'batch', ARGV[2], 'batch_first', int(first))
if dedup then
  redis.call('SET', dedup, int(first), 'PX', ARGV[7 + n * 9])
end
if ARGV[6] == 'old' and (max_bytes or max_messages) then
  local cut = size_cut(log, start, first + n, bytes, max_bytes, max_messages)
  cut_log(meta, log, start, cut)
  start = math.max(start, cut)
end
return {1, first, start}
