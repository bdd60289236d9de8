-- skynet.request(...):select(ti): parallel requests. docs/TESTING.md: Lua API checklist item 30.
local skynet = require "skynet"
local T = require "testlib"

local echo

-- Waits until echo holds a response closure for every key.
local function held(...)
  for _, key in ipairs { ... } do
    T.eventually(function() return skynet.call(echo, "lua", "has", key) end, nil, "echo holds " .. key)
  end
end

T.test("setup: an echo service", function()
  echo = skynet.newservice("echo")
end)

T.test("select returns replies in arrival order, false for failures, invalid addresses first", function()
  local r1 = { echo, "lua", "defer", "r1", tag = "r1" }
  local r2 = { echo, "lua", "defer", "r2", tag = "r2" }
  local r3 = { echo, "lua", "defer", "r3", tag = "r3" }
  local bad = { T.INVALID, "lua", "echo", tag = "bad" }
  local reqs = skynet.request(r1)(r2)
  reqs:add(r3)
  reqs:add(bad)
  -- echo answers r2, then fails r3, then answers r1: one source, so they arrive in that order
  skynet.fork(function()
    held("r1", "r2", "r3")
    skynet.call(echo, "lua", "respond", "r2", true, "two", nil)
    skynet.call(echo, "lua", "respond", "r3", false)
    skynet.call(echo, "lua", "respond", "r1", true, "one")
  end)
  local got = {}
  for req, resp in reqs:select() do
    got[#got + 1] = { req.tag, resp == nil and "nil" or resp }
  end
  T.eq(got, {
    { "bad", "nil" },
    { "r2", table.pack("two", nil) },
    { "r3", false },
    { "r1", table.pack("one") },
  })
  T.ok(not reqs.timeout, "no timeout")
end)

T.test("select(ti): iteration ends at the deadline, .timeout is set, late replies are ignored", function()
  local reqs = skynet.request { echo, "lua", "defer", "t1" } { echo, "lua", "echo", "quick" }
  local got = {}
  for req, resp in reqs:select(20) do
    got[#got + 1] = resp
  end
  T.eq(got, { table.pack("quick") })
  T.eq(reqs.timeout, true, ".timeout")
  local from = T.mark()
  -- echo sends the late reply before answering this call: it has reached us when we go on
  T.eq(table.pack(skynet.call(echo, "lua", "respond", "t1", true, "late")), table.pack(true, true))
  T.sync()
  T.no_log("^%[" .. T.hex(skynet.self()) .. "%] .*Unknown session", from)
  T.no_log("^%[" .. T.hex(skynet.self()) .. "%] Response message", from)
end)

T.test("the loop body may call and sleep", function()
  local reqs = skynet.request { echo, "lua", "echo", 1 } { echo, "lua", "sleep", 2, 2 }
  local sum = 0
  for _, resp in reqs:select() do
    skynet.sleep(1)
    sum = sum + skynet.call(echo, "lua", "echo", resp[1])
  end
  T.eq(sum, 3)
end)

T.test("close abandons outstanding requests quietly", function()
  local from = T.mark()
  do
    local reqs <close> = skynet.request { echo, "lua", "defer", "c1" }
    local it = reqs:select(1000)
    T.ok(it, "iterator")
    held("c1")
  end
  T.eq(table.pack(skynet.call(echo, "lua", "respond", "c1", true, "abandoned")), table.pack(true, true))
  T.sync()
  T.no_log("^%[" .. T.hex(skynet.self()) .. "%] .*Unknown session", from)
end)

T.start()
