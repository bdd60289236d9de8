-- skynet.sharetable (docs/LIBRARIES.md "sharetable"): the spec's checklist items 9-12 and the
-- memory per reader.
local skynet = require "skynet"
local sharetable = require "skynet.sharetable"
local core = require "skynet.sharetable.core"
local service = require "skynet.service"
local T = require "testlib"
local readers = require "share_readers"
local rss = require "rss"

local reader = readers.new

local collected = readers.collected

local bye = readers.bye

local ask = readers.ask

local function tmpfile(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

local function copy(t)
  if type(t) ~= "table" then return t end
  local r = {}
  for k, v in pairs(t) do r[copy(k)] = copy(v) end
  return r
end

T.test("loadtable, loadstring with arguments, loadfile with a function; query, queryall", function()
  sharetable.loadtable("tbl", { x = 1, y = { "hello world" }, ["hello world"] = true })
  T.eq(copy(sharetable.query "tbl"), { x = 1, y = { "hello world" }, ["hello world"] = true })
  sharetable.loadstring("str", "return { ... }", 1, 2.5, true)
  T.eq(copy(sharetable.query "str"), { 1, 2.5, true })
  local path = tmpfile("local n = ... return { n = n, double = function(x) return x * 2 end }")
  sharetable.loadfile(path, 21)
  local f = sharetable.query(path)
  os.remove(path)
  T.eq(f.n, 21)
  T.eq(f.double(f.n), 42)
  T.ok(rawequal(f.double, f.double), "a function is loaded once")
  T.eq(sharetable.query "nosuch", nil)
  local some = sharetable.queryall { "tbl", "str", "nosuch" }
  T.eq(copy(some), { tbl = copy(sharetable.query "tbl"), str = { 1, 2.5, true } })
  local all = sharetable.queryall()
  T.ok(all.tbl and all.str and all[path], "queryall() returns every name")
  local r = reader()
  ask(r, "st_hold", "t", "tbl")
  T.eq(ask(r, "copy", "t"), { x = 1, y = { "hello world" }, ["hello world"] = true })
  bye(r)
end)

T.test("load errors fail the call and are logged", function()
  local cases = {
    { "return {}", "Type invalid", "a string" },
    { "return 1", "Not a table, it's a number." },
    { "return setmetatable({}, {})", "Can't share metatable" },
    { "local up = 1 return { f = function() return up end }", "Invalid function with upvalue" },
    { "return { io.stdout }", "Invalid type %[userdata%]" },
    { "return {", "%[string \"return {\"%]:1: unexpected symbol near <eof>" },
  }
  for i, c in ipairs(cases) do
    local from = T.mark()
    T.raises("call failed$", sharetable.loadstring, "bad" .. i, c[1], c[3])
    T.log(c[2], from)
  end
  local from = T.mark()
  T.raises("call failed$", sharetable.loadfile, "/nonexistent/file.lua")
  T.log("cannot open /nonexistent/file.lua", from)
  T.raises("Unsupport type function to serialize", sharetable.loadtable, "badtbl", { f = print })
end)

T.test("one table per version in a service; is_sharedtable; writes raise", function()
  sharetable.loadtable("same", { sub = { 1, 2 }, n = 1 })
  local a, b = sharetable.query "same", sharetable.query "same"
  T.ok(rawequal(a, b))
  T.ok(rawequal(a.sub, b.sub))
  T.ok(core.is_sharedtable(a) and core.is_sharedtable(a.sub))
  T.ok(not core.is_sharedtable({}))
  T.eq(#a.sub, 2)
  T.eq(select("#", next(a.sub)), 2, "next walks a shared table")
  T.eq(next(a.sub), 1)
  T.eq(next({}), nil)
  local n = 0
  for i, v in ipairs(a.sub) do n = n + i * v end
  T.eq(n, 5)
  T.raises("attempt to write to a shared table", function() a.n = 2 end)
  T.raises("attempt to write to a shared table", table.insert, a.sub, 3)
  T.raises("cannot change a protected metatable", setmetatable, a, {})
end)

G_SHARED = nil -- a global the update must switch

T.test("update switches locals, upvalues, globals, fields, keys and array elements", function()
  sharetable.loadtable("cfg", { sub = { x = 1 }, v = 1, gone = { y = 1 } })
  local t = sharetable.query "cfg"
  local sub = t.sub
  local gone = t.gone
  G_SHARED = t
  local holder = { field = sub, [sub] = "key", sub }
  local function upvalue() return sub.x end
  local r = reader()
  ask(r, "st_hold", "other", "cfg")
  sharetable.loadtable("cfg", { sub = { x = 2 }, v = 2 })
  T.eq(t.v, 1, "nothing changes before update")
  sharetable.update "cfg"
  T.eq(t.v, 2)
  T.eq(sub.x, 2)
  T.eq(upvalue(), 2)
  T.eq(G_SHARED.sub.x, 2)
  T.ok(rawequal(G_SHARED.sub, sub))
  T.eq(holder.field.x, 2)
  T.eq(holder[1].x, 2)
  T.eq(holder[t.sub], "key")
  T.ok(rawequal(sharetable.query "cfg", t))
  T.raises("vanished", function() return gone.y end)
  T.eq(ask(r, "held", "other", "v"), 1, "another service keeps its version until it updates")
  ask(r, "st_update", "cfg")
  T.eq(ask(r, "held", "other", "v"), 2)
  bye(r)
  G_SHARED = nil
end)

T.test("two proxies of one path from two versions both follow every later update", function()
  sharetable.loadtable("pair", { sub = { x = 1 } })
  local old_sub = sharetable.query("pair").sub
  sharetable.loadtable("pair", { sub = { x = 2 } })
  local new_sub = sharetable.query("pair").sub -- the newest version, a proxy of its own
  T.eq(old_sub.x, 1)
  T.eq(new_sub.x, 2)
  sharetable.update "pair"
  T.eq(old_sub.x, 2)
  sharetable.loadtable("pair", { sub = { x = 3 } })
  sharetable.update "pair"
  T.eq(old_sub.x, 3, "the proxy moved by the first update moves again")
  T.eq(new_sub.x, 3)
end)

T.test("a version is freed when its last holder exits", function()
  sharetable.loadtable("solo", { v = 1 })
  local r = reader()
  ask(r, "st_hold", "t", "solo")
  sharetable.loadtable("solo", { v = 2 })
  local from = T.mark()
  bye(r)
  T.log("Delete a version %(userdata: 0x%x+%) of solo", from)
end)

T.test("INFO: current, size and history per name", function()
  local addr = service.query "sharetable"
  local info = skynet.call(addr, "debug", "INFO")
  T.eq(type(info.tbl.current), "userdata")
  T.ok(info.tbl.size > 0)
  T.match(info.tbl.history, "userdata: 0x%x+ %[%d+%]: %(.*" .. T.esc(T.hex(skynet.self())))
end)

T.test("memory per reader: N readers of one version share it", function()
  collectgarbage()
  local lua_before = collectgarbage "count"
  local big = {}
  for i = 1, 20000 do big[i] = { id = i, name = "item" .. i } end
  local copy_size = math.floor((collectgarbage "count" - lua_before) * 1024)
  sharetable.loadtable("big", { items = big })
  big = nil
  local N = 50
  local readers = {}
  for i = 1, N do readers[i] = reader() end
  for i = 1, N do ask(readers[i], "st_hold", "warm", "tbl") end
  collected(readers) -- the command's own first use, out of the figure
  collectgarbage()
  local rss_before, heap_before = rss(), collected(readers)
  for i = 1, N do
    ask(readers[i], "st_hold", "big", "big")
    T.eq(ask(readers[i], "held", "big", "items", 20000, "name"), "item20000")
  end
  local per_rss = (rss() - rss_before) // N
  local per_heap = (collected(readers) - heap_before) // N
  skynet.error(string.format("MEMORY sharetable: reading one item costs a reader %d bytes of Lua heap, "
    .. "%d bytes of RSS (%d readers; the data is %d bytes as a Lua table)", per_heap, per_rss, N,
    copy_size))
  -- RSS is the whole node's and now and then grows by a few MB whatever the readers do
  -- (malloc): its bounds leave room for that. A walk used to cost a reader 150 KB of it.
  -- Under a sanitizer RSS says nothing (shadow memory, quarantined blocks).
  local measure_rss = (skynet.getenv "test_sanitizer" or "") == ""
  T.ok(per_heap < 1024, "Lua heap per reader " .. per_heap)
  T.ok(not measure_rss or per_rss < 64 * 1024, "RSS per reader " .. per_rss)
  -- Walking everything makes a proxy per table reached; what the reader drops must not stay,
  -- neither as Lua heap (the weak caches' room) nor as RSS (the small-object pages).
  rss_before, heap_before = rss(), collected(readers)
  for i = 1, N do T.eq(ask(readers[i], "walk", "big"), 60001) end
  local walk_rss = (rss() - rss_before) // N
  local walk_heap = (collected(readers) - heap_before) // N
  skynet.error(string.format("MEMORY sharetable: walking all 20001 tables costs a reader %d bytes of "
    .. "Lua heap, %d bytes of RSS (%d readers)", walk_heap, walk_rss, N))
  T.ok(walk_heap < 1024, "Lua heap per walking reader " .. walk_heap)
  T.ok(not measure_rss or walk_rss < 96 * 1024, "RSS per walking reader " .. walk_rss)
  -- The readers stay until the node ends: one told to exit now could log its end after the
  -- verdict (the node's abort retires services silently).
end, 6000)

T.start()
