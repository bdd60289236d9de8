-- skynet.datasheet (docs/LIBRARIES.md "datasheet"): the spec's checklist items 13-17.
local skynet = require "skynet"
local builder = require "skynet.datasheet.builder"
local datasheet = require "skynet.datasheet"
local T = require "testlib"
local readers = require "share_readers"

local reader = readers.new

local ask = readers.ask

local bye = readers.bye

T.test("new, then query from another service: values, #, nested tables", function()
  builder.new("basic", { a = 1, s = "str", yes = false, list = { 10, 20, 30 }, c = { d = { e = "deep" } } })
  local r = reader()
  ask(r, "ds_hold", "root", "basic")
  T.eq(ask(r, "copy", "root"),
    { a = 1, s = "str", yes = false, list = { 10, 20, 30 }, c = { d = { e = "deep" } } })
  T.eq(ask(r, "held", "root", "c", "d", "e"), "deep")
  ask(r, "ds_hold", "list", "basic", "list")
  T.eq(ask(r, "held_len", "list"), 3)
  bye(r)
end)

T.test("proxies materialize on first access and become plain tables", function()
  builder.new("lazy", { a = 1, sub = { 2 } })
  local t = datasheet.query "lazy"
  T.ok(rawequal(datasheet.query "lazy", t), "one proxy per name")
  T.eq(next(t), nil, "next sees nothing before the first access")
  T.eq(rawget(t, "a"), nil)
  T.eq(t.a, 1)
  T.eq(getmetatable(t), nil)
  T.eq(rawget(t, "a"), 1)
  T.ok(rawequal(t.sub, t.sub))
  T.eq(#t.sub, 1)
  t.a = 100
  T.eq(t.a, 100, "a local write sticks")
end)

T.test("number limits, NUL truncation, compile bytes", function()
  builder.new("limits", { big = 2 ^ 40, shift = 1 << 40, tenth = 0.1, nul = "a\0b", neg = -5,
                          max = 0x7fffffff })
  local t = datasheet.query "limits"
  T.eq(t.big, 1099511627776.0)
  T.eq(t.shift, 1099511627776.0)
  T.eq(math.type(t.shift), "float")
  T.eq(t.tenth, 0.10000000149011612)
  T.eq(t.nul, "a")
  T.eq(t.neg, -5)
  T.eq(t.max, 0x7fffffff)
  local want = "24000000 01000000 00000000 01000000 01000000 01050000 01000000 00000000 02000000 61007800"
  local bytes = builder.compile({ 1, a = "x" })
  local hex = {}
  for i = 1, #bytes, 4 do
    hex[#hex + 1] = (bytes:sub(i, i + 3):gsub(".", function(c) return string.format("%02x", c:byte()) end))
  end
  T.eq(table.concat(hex, " "), want)
end)

T.test("update: held sub-tables follow, vanished ones raise, local writes are lost", function()
  builder.new("upd", { a = 1, b = 2, c = { 3 }, gone = { 1 } })
  local t = datasheet.query "upd"
  local c, gone = t.c, t.gone
  T.eq(c[1], 3)
  T.eq(gone[1], 1)
  t.local_write = true
  skynet.sleep(0) -- the monitor this query forked is parked in the service from here on
  builder.update("upd", { b = 4, c = { 5 } })
  -- The monitors are answered before the builder: new data here already.
  T.eq(t.b, 4)
  T.eq(t.a, nil)
  T.eq(t.local_write, nil)
  T.eq(c[1], 5)
  T.raises("Invalid proxy %(index = %d+%)", function() return gone[1] end)
  T.raises("Invalid proxy", function() for _ in pairs(gone) do end end)
  T.raises("Invalid proxy", function() return #gone end)
  local r = reader()
  ask(r, "ds_hold", "c", "upd", "c")
  builder.update("upd", { a = 6, c = 7, d = 8 })
  T.eq(t.a, 6)
  T.eq(t.c, 7)
  T.eventually(function() return not pcall(ask, r, "held", "c", 1) end, 500)
  bye(r)
end)

T.test("encoding errors and builder assertions", function()
  T.raises("Unsupport value function", builder.compile, { f = print })
  T.raises("assertion failed!", builder.compile, { [1.5] = 1 })
  T.raises("assertion failed!", builder.compile, { [true] = 1 })
  T.raises("assertion failed!", builder.compile, { [1] = 1, [3] = 3 })
  builder.new("twice", {})
  T.raises("assertion failed!", builder.new, "twice", {})
  T.raises("assertion failed!", builder.update, "never", {})
end)

T.test("a query of an unknown name fails and keeps failing", function()
  local r = reader()
  local from = T.mark()
  T.raises("call failed", ask, r, "ds_query", "unknown")
  T.log("create data first", from)
  builder.new("unknown", { 1 })
  T.raises("call failed", ask, r, "ds_query", "unknown")
  bye(r)
end)

T.start()
