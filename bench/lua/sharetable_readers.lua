-- Memory per sharetable reader, on Starling and on skynet alike: a start service (and its own
-- reader services) that loads a 20,000-record table, lets 50 readers query it and read one
-- record, then walk every record, and prints the growth of the node's RSS and of the readers'
-- Lua heaps (after a full collection) per reader, as RESULT lines (bench/libs.sh).
--
-- Run it as the start service of a node whose luaservice path includes bench/lua/; the script
-- ends the node itself. Figures: docs/LIBRARIES.md, "sharetable".
local skynet = require "skynet"
local sharetable = require "skynet.sharetable"

local mode = ...

local function rss()
  local f = assert(io.open("/proc/self/statm"))
  local _, resident = f:read("n", "n")
  f:close()
  return resident * 4096
end

if mode == "reader" then
  local held
  skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd)
      if cmd == "read" then
        held = sharetable.query "big"
        skynet.ret(skynet.pack(held.items[20000].name))
      elseif cmd == "walk" then
        local sum = 0
        for _, v in pairs(held.items) do sum = sum + v.id end
        skynet.ret(skynet.pack(sum))
      else
        collectgarbage()
        skynet.ret(skynet.pack(collectgarbage "count"))
      end
    end)
  end)
  return
end

skynet.start(function()
  sharetable.loadstring("big", [[
    local t = {}
    for i = 1, 20000 do t[i] = { id = i, name = "item" .. i } end
    return { items = t }]])
  local N = 50
  local readers = {}
  for i = 1, N do readers[i] = skynet.newservice(SERVICE_NAME, "reader") end
  local function heaps()
    local sum = 0
    for i = 1, N do sum = sum + skynet.call(readers[i], "lua", "heap") end
    return sum * 1024
  end
  collectgarbage()
  local rss0, heap0 = rss(), heaps()
  for i = 1, N do assert(skynet.call(readers[i], "lua", "read") == "item20000") end
  local rss1, heap1 = rss(), heaps()
  for i = 1, N do skynet.call(readers[i], "lua", "walk") end
  local rss2, heap2 = rss(), heaps()
  -- Bytes per reader: after the first query and one read, then after walking every record.
  local function result(name, value) print(string.format("RESULT %s %d bytes", name, value)) end
  result("sharetable_read_one_rss", (rss1 - rss0) // N)
  result("sharetable_read_one_heap", (heap1 - heap0) // N)
  result("sharetable_walk_all_rss", (rss2 - rss1) // N)
  result("sharetable_walk_all_heap", (heap2 - heap1) // N)
  os.exit(0)
end)
