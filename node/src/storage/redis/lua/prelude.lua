-- Shared by the scripts below (concatenated before each).
-- Offsets are stream ids 0-<offset+1>; numbers stay below 2^53.

local function int(n)
  return string.format('%d', n)
end

-- The first entry at or after offset o: its offset and its fields, or nil.
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
