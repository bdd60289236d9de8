-- skynet.queue critical sections. docs/TESTING.md: Lua API checklist item 28.
local skynet = require "skynet"
local queue = require "skynet.queue"
local T = require "testlib"

T.test("coroutines entering one section with sleeps inside run serially, in arrival order", function()
  local cs = queue()
  local trace = {}
  local function body(name, ticks)
    trace[#trace + 1] = name .. " in"
    if ticks > 0 then skynet.sleep(ticks) end
    trace[#trace + 1] = name .. " out"
    return name
  end
  local pa = T.spawn(cs, body, "A", 5)
  local pb = T.spawn(cs, body, "B", 1)
  local pc = T.spawn(cs, body, "C", 0)
  T.eq(pa:value(), "A")
  T.eq(pb:value(), "B")
  T.eq(pc:value(), "C")
  T.eq(trace, { "A in", "A out", "B in", "B out", "C in", "C out" })
end)

T.test("cs(f, ...) passes the arguments and returns every result", function()
  local cs = queue()
  T.eq(table.pack(cs(function(...) return ... end, 1, nil, 3)), table.pack(1, nil, 3))
end)

T.test("re-entrance: the coroutine inside may enter again without blocking", function()
  local cs = queue()
  local p = T.spawn(cs, function()
    return cs(function() return cs(function() return "inner" end) end)
  end)
  T.eq(p:value(100), "inner")
end)

T.test("entering an uncontended section does not yield", function()
  local cs = queue()
  local ran = false
  skynet.fork(function() ran = true end)
  cs(function() end)
  T.eq(ran, false, "a fork ran: cs yielded")
  skynet.yield()
end)

T.test("an error inside releases the section and is re-raised", function()
  local cs = queue()
  local err = T.raises("queue boom", cs, function() error("queue boom") end)
  T.ok(#err > 0, "error text")
  T.eq(T.spawn(cs, function() return "free" end):value(100), "free")
end)

T.test("an error releases the section for a waiter too", function()
  local cs = queue()
  local pa = T.spawn(cs, function() skynet.sleep(2) error("first fails") end)
  local pb = T.spawn(cs, function() return "second runs" end)
  T.match(pa:err(), "first fails")
  T.eq(pb:value(), "second runs")
end)

T.start()
