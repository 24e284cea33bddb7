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
