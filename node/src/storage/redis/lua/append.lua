-- Appends a batch to one partition, fenced by the owner epoch.
-- KEYS: epoch, meta, log. ARGV: epoch, batch token, message count, then per
-- message: size, data, attributes, '=' .. ordering key, priority, publish time,
-- deliver-at, expire-at, compression of the data (empty strings for absent values).
-- With an idempotency key, KEYS[4] is its dedup key and the last ARGV its TTL
-- in milliseconds.
-- Returns {1, first offset} stored; {2, first offset} when this token's batch,
-- or this idempotency key's, was already stored (a retried call or publish);
-- {0, current epoch} when fenced; {-1} when the partition does not exist.
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
if epoch > current then
  redis.call('SET', epoch_key, ARGV[1])
end
local first, bytes = tonumber(m[1]), tonumber(m[2])
local n = tonumber(ARGV[3])
for i = 0, n - 1 do
  local a = 4 + i * 9
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
  redis.call('SET', dedup, int(first), 'PX', ARGV[4 + n * 9])
end
return {1, first}
