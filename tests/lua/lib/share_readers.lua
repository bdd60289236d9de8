-- share_readers: reader services (tests/lua/services/share_reader.lua) for the sharedata,
-- sharetable and datasheet cases, and what they cost.
local skynet = require "skynet"

local readers = {}

-- A new reader service.
function readers.new()
  return skynet.newservice("share_reader")
end

-- Calls a reader command: its results when it succeeded, else raises its error.
function readers.ask(r, ...)
  local ok, v = skynet.call(r, "lua", ...)
  if not ok then error(v, 0) end
  return v
end

-- Ends a reader before returning, so no reader outlives the case's verdict.
function readers.bye(r)
  skynet.kill(r)
end

-- The Lua heap of a service, in bytes (debug MEM answers KiB).
function readers.heap(r)
  return math.floor(skynet.call(r, "debug", "MEM") * 1024)
end

-- The Lua heaps of the first n services of list (all by default), summed.
function readers.heaps(list, n)
  local sum = 0
  for i = 1, n or #list do sum = sum + readers.heap(list[i]) end
  return sum
end

-- The same after a full collection in each: what a reader keeps, not what it dropped.
function readers.collected(list, n)
  local sum = 0
  for i = 1, n or #list do sum = sum + readers.ask(list[i], "collected") end
  return sum
end

return readers
