-- skynet.sharedata (docs/LIBRARIES.md "sharedata"): the checklist of the spec
-- (libraries-services §17, items 1-8).
local skynet = require "skynet"
local sharedata = require "skynet.sharedata"
local T = require "testlib"
local readers = require "share_readers"
local rss = require "rss"

local reader = readers.new

local heap = readers.heap

local heaps = readers.heaps

local bye = readers.bye

local ask = readers.ask

T.test("new and query: scalars, nested tables, arrays; # is the creation-time array size", function()
  sharedata.new("basic", { a = 1, s = "str", f = 2.5, yes = true, b = { n = { z = "deep" } },
                           list = { 10, 20, 30 }, sparse = { [3] = 3, [10] = 10 } })
  local obj = sharedata.query "basic"
  T.eq(obj.a, 1)
  T.eq(obj.s, "str")
  T.eq(obj.f, 2.5)
  T.eq(obj.yes, true)
  T.eq(obj.b.n.z, "deep")
  T.eq(obj.list[2], 20)
  T.eq(#obj.list, 3)
  T.eq(#obj.sparse, 0)
  T.eq(obj.sparse[10], 10)
  T.eq(obj.missing, nil)
  T.ok(obj.b == obj.b, "child proxies are cached")
  T.ok(rawequal(sharedata.query "basic", obj), "a second query returns the same object")
end)

T.test("pairs, ipairs, next and packstring", function()
  sharedata.new("iter", { 1, 2, 3, x = "y", t = { 4 } })
  local obj = sharedata.query "iter"
  local seen = {}
  for k, v in pairs(obj) do seen[k] = type(v) == "table" and v[1] or v end
  T.eq(seen, { 1, 2, 3, x = "y", t = 4 })
  local arr = {}
  for i, v in ipairs(obj) do arr[i] = v end
  T.eq(arr, { 1, 2, 3 })
  T.match(next(obj), "^__", "next sees the proxy's own fields")
  T.eq(skynet.unpack(skynet.packstring(obj)), { 1, 2, 3, x = "y", t = { 4 } })
end)

T.test("writes and bad keys raise", function()
  sharedata.new("ro", { b = { n = { 1 } } })
  local obj = sharedata.query "ro"
  T.raises("Error newindex, the key %[%]$", function() obj.x = 1 end)
  T.raises("Error newindex, the key %[%.b%.n%]$", function() obj.b.n.x = 1 end)
  T.raises("Invalid key 1.5$", function() return obj[1.5] end)
  T.raises("bad argument #2 to 'index' %(string expected, got boolean%)$", function()
    return obj[true]
  end)
  T.eq(obj[nil], nil)
end)

T.test("new errors: duplicate name, bad keys and values", function()
  sharedata.new("dup", {})
  T.raises("call failed$", sharedata.new, "dup", {})
  T.raises("call failed$", sharedata.new, "floatkey", { [1.5] = 1 })
  T.raises("call failed$", sharedata.new, "boolkey", { [true] = 1 })
  T.raises("call failed$", sharedata.new, "number", 42)
  T.raises("Unsupport type function to serialize", sharedata.new, "fn", { f = print })
  T.log("Invalid key 1.5")
  T.log("Invalid key type boolean")
  T.log("Unknown data type number")
end)

T.test("value forms: nil, code with globals, code returning a table, @file", function()
  sharedata.new("empty")
  T.eq(sharedata.deepcopy "empty", {})
  sharedata.new("code", "x = 1 y = {2}")
  T.eq(sharedata.deepcopy "code", { x = 1, y = { 2 } })
  sharedata.new("code2", "local a, b = ... return { sum = a + b }", 3, 4)
  T.eq(sharedata.deepcopy "code2", { sum = 7 })
  T.raises("call failed$", sharedata.new, "code3", "error 'boom'")
  T.log("code3:1: boom")
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write("return { from = 'file', arg = ... }")
  f:close()
  sharedata.new("file", "@" .. path, "A")
  os.remove(path)
  T.eq(sharedata.deepcopy "file", { from = "file", arg = "A" })
end)

T.test("deepcopy: whole, by path, missing path, unknown name", function()
  sharedata.new("dc", { a = 1, b = { n = { z = 5 } } })
  T.eq(sharedata.deepcopy "dc", { a = 1, b = { n = { z = 5 } } })
  T.eq(sharedata.deepcopy("dc", "b", "n", "z"), 5)
  T.eq(sharedata.deepcopy("dc", "b", "n"), { z = 5 })
  T.eq(select("#", sharedata.deepcopy("dc", "b", "nothing", "z")), 0)
  T.raises("call failed$", sharedata.deepcopy, "nosuch")
  T.log("sharedatad.lua:%d+: nosuch")
end)

T.test("update: seen by another service after it yields; held children follow", function()
  sharedata.new("upd", { a = 1, b = { c = 1 }, sub = { x = 1 } })
  local r = reader()
  T.eq(ask(r, "sd_get", "upd", "a"), 1)
  ask(r, "sd_hold", "b", "upd", "b")
  ask(r, "sd_hold", "sub", "upd", "sub")
  sharedata.update("upd", { a = 2, b = { c = 2 }, sub = 3 })
  T.eventually(function() return ask(r, "sd_get", "upd", "a") == 2 end, 500)
  T.eq(ask(r, "held", "b", "c"), 2, "a held child shows the new data")
  T.raises("share_reader.lua:%d+: The key %[%.sub%] doesn't exist after update$", ask, r, "held",
    "sub", "x")
  T.eq(ask(r, "sd_get", "upd", "sub"), 3)
  sharedata.update("upd", { a = 3, b = { c = 3 }, sub = { x = 4 } })
  T.eventually(function() return ask(r, "sd_get", "upd", "a") == 3 end, 500)
  T.raises("doesn't exist after update$", ask, r, "held", "sub", "x")
  T.eq(ask(r, "sd_get", "upd", "sub", "x"), 4, "a key that comes back gives a new child")
  bye(r)
end)

T.test("delete: old objects stay readable, query and delete fail, update creates", function()
  sharedata.new("del", { v = "kept" })
  local obj = sharedata.query "del"
  sharedata.delete "del"
  T.eq(obj.v, "kept")
  T.raises("call failed$", sharedata.query, "del2never")
  T.raises("call failed$", sharedata.delete, "del")
  sharedata.update("created", { v = 1 })
  T.eq(sharedata.deepcopy("created", "v"), 1)
  local r = reader()
  T.raises("call failed$", ask, r, "sd_get", "del", "v")
  bye(r)
end)

T.test("flush applies a pending update at once", function()
  sharedata.new("fl", { v = 1 })
  local obj = sharedata.query "fl"
  sharedata.update("fl", { v = 2 })
  T.eventually(function()
    sharedata.flush()
    return obj.v == 2
  end, 500)
end)

T.test("memory per reader: N readers of one object share it", function()
  collectgarbage()
  local lua_before = collectgarbage "count"
  local big = {}
  for i = 1, 20000 do big[i] = { id = i, name = "item" .. i } end
  local copy_size = math.floor((collectgarbage "count" - lua_before) * 1024)
  sharedata.new("big", { items = big })
  local N = 50
  local readers = {}
  for i = 1, N do readers[i] = reader() end
  for i = 1, N do ask(readers[i], "sd_get", "basic", "a") end -- the library loaded everywhere
  collectgarbage()
  local rss_before, heap_before = rss(), heaps(readers)
  for i = 1, N do
    T.eq(ask(readers[i], "sd_get", "big", "items", 20000, "name"), "item20000")
    T.eq(ask(readers[i], "sd_get", "big", "items", 1, "id"), 1)
  end
  local per_rss = (rss() - rss_before) // N
  local per_heap = (heaps(readers) - heap_before) // N
  skynet.error(string.format("MEMORY sharedata: reading two items costs a reader %d bytes of Lua heap, "
    .. "%d bytes of RSS (%d readers; the data is %d bytes as a Lua table)", per_heap, per_rss, N,
    copy_size))
  T.ok(per_heap < 16 * 1024, "Lua heap per reader " .. per_heap)
  T.ok(per_rss < 256 * 1024, "RSS per reader " .. per_rss)
  for _, r in ipairs(readers) do bye(r) end
end, 6000)

T.start()
