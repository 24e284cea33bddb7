-- Writes what one call changed in a subscription's cursor, fenced by the
-- owner epoch: refused, writing nothing, when the partition has seen a newer
-- epoch than the writer's (another node claimed it since), so a stale
-- owner's write, even one delayed in the network, cannot take the cursor back.
-- KEYS: epoch, the cursor's hash. ARGV: the writer's epoch, '1' to delete the
-- hash first (a reset) or '0', the number of fields to delete, those fields,
-- then field and value pairs to set.
-- Returns {1} when written, {0, current epoch} when fenced, {2} when the
-- cursor's hash is gone (the subscription or topic was deleted: a late write,
-- say at shutdown, must not bring it back).
local epoch_key, cursor = KEYS[1], KEYS[2]
local current = tonumber(redis.call('GET', epoch_key) or '0')
if tonumber(ARGV[1]) < current then
  return {0, current}
end
if redis.call('EXISTS', cursor) == 0 then
  return {2}
end
if ARGV[2] == '1' then
  redis.call('DEL', cursor)
end
-- In chunks, within Lua's limit on unpacked values (an even size keeps pairs whole).
local function in_chunks(command, first, last)
  for i = first, last, 1000 do
    redis.call(command, cursor, unpack(ARGV, i, math.min(i + 999, last)))
  end
end
local deletes = tonumber(ARGV[3])
in_chunks('HDEL', 4, 3 + deletes)
in_chunks('HSET', 4 + deletes, #ARGV)
return {1}
