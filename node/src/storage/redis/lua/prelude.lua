-- Shared by the scripts below (concatenated before each).
-- Offsets are stream ids 0-<offset+1>; numbers stay below 2^53.

local function int(n)
  return string.format('%d', n)
end

-- A big-endian unsigned integer of bytes i..j of s (below 2^53).
local function be_uint(s, i, j)
  local n = 0
  for k = i, j do
    n = n * 256 + string.byte(s, k)
  end
  return n
end

-- Format 2 (packed_entry.rs): the publish time is bytes 2-9 of `e`, the
-- size counted by size bounds bytes 10-13.
local function packed_time(e)
  return be_uint(e, 2, 9)
end

local function packed_size(e)
  local a, b, c, d = string.byte(e, 10, 13)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

-- The first entry at or after offset o: its offset and its fields, or nil.
-- Fields `b` and `t` are there in both entry formats.
local function entry_from(log, o)
  local found = redis.call('XRANGE', log, '0-' .. int(o + 1), '+', 'COUNT', 1)
  if #found == 0 then
    return nil
  end
  local offset = tonumber(string.sub(found[1][1], 3)) - 1
  local flat, fields = found[1][2], {}
  for i = 1, #flat, 2 do
    fields[flat[i]] = flat[i + 1]
  end
  if fields.e then
    fields.t = packed_time(fields.e)
  end
  return offset, fields
end

-- The lowest offset in [lo, hi] from which the first entry satisfies ok
-- (ok must be false, then true, along the log); hi if none does. A missing
-- offset counts as part of the next entry.
local function search(log, lo, hi, ok)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local offset, fields = entry_from(log, mid)
    if offset == nil or offset >= hi or ok(fields) then
      hi = mid
    else
      lo = offset + 1
    end
  end
  return lo
end

-- Where a partition holding [start, stop) of a log with `appended` bytes
-- appended must be cut for its size bounds (max bytes and max messages, each
-- a number or nil): the lowest offset to keep, start if nothing goes.
local function size_cut(log, start, stop, appended, max_bytes, max_messages)
  local cut = start
  if max_messages and stop - max_messages > cut then
    cut = stop - max_messages
  end
  if max_bytes and cut < stop then
    -- 'b' is the bytes appended before an entry, so appended - b is what
    -- keeping that entry and everything after it retains.
    local floor = appended - max_bytes
    local first, fields = entry_from(log, cut)
    if first ~= nil and tonumber(fields.b) < floor then
      local c = search(log, cut, stop, function(f) return tonumber(f.b) >= floor end)
      if c > cut then cut = c end
    end
  end
  return cut
end

-- Drops the offsets below cut (when above start) and records the new start.
local function cut_log(meta, log, start, cut)
  if cut > start then
    redis.call('XTRIM', log, 'MINID', '0-' .. int(cut + 1))
    redis.call('HSET', meta, 'start', int(cut))
  end
end

-- An optional number argument: '' is nil.
local function optional(arg)
  if arg == '' then return nil end
  return tonumber(arg)
end

-- The checks before an append, shared by append.lua and append_packed.lua
-- (see there for KEYS and the replies): ARGV[1..6] are epoch, batch token,
-- count, max bytes, max messages, discard; size_of(i) is the size of message
-- i (0-based). Returns the reply when nothing may be stored, else nil and the
-- partition's end, bytes appended and start. Records a newer epoch.
local function admit(size_of)
  local epoch_key, meta, log = KEYS[1], KEYS[2], KEYS[3]
  local m = redis.call('HMGET', meta, 'end', 'appended', 'batch', 'batch_first', 'start')
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
  local start = tonumber(m[5])
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
        retained = retained + size_of(i)
      end
      if retained > max_bytes then
        return {3, 1}
      end
    end
  end
  if epoch > current then
    redis.call('SET', epoch_key, ARGV[1])
  end
  return nil, first, bytes, start
end

-- After the entries of an append are added: the partition's end, bytes and
-- batch token, the idempotency key (its TTL in ms is ttl) and retention by
-- size with discard 'old'. Returns the reply.
local function commit(first, n, bytes, start, ttl)
  local meta, log, dedup = KEYS[2], KEYS[3], KEYS[4]
  redis.call('HSET', meta, 'end', int(first + n), 'appended', int(bytes),
    'batch', ARGV[2], 'batch_first', int(first))
  if dedup then
    redis.call('SET', dedup, int(first), 'PX', ttl)
  end
  local max_bytes, max_messages = optional(ARGV[4]), optional(ARGV[5])
  if ARGV[6] == 'old' and (max_bytes or max_messages) then
    local cut = size_cut(log, start, first + n, bytes, max_bytes, max_messages)
    cut_log(meta, log, start, cut)
    start = math.max(start, cut)
  end
  return {1, first, start}
end
