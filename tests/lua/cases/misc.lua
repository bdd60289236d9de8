-- skynet.error formatting, time, stat, environment, memlimit, the overload warning.
-- docs/TESTING.md: Lua API checklist item 26, core checklist items 11 and 13, config
-- checklist items 11 and 13.
local skynet = require "skynet"
local T = require "testlib"

local spinning
skynet.dispatch("lua", function(_, _, cmd, ...)
  if cmd == "ping" then skynet.ret() end
  if cmd == "spinning" then spinning = ... end
end)

-- The texts of the lines this service logged from `from` on, until (excluding) its next sync.
local function my_lines(from)
  T.sync()
  local prefix = "[" .. T.hex(skynet.self()) .. "] "
  local out = {}
  for _, line in ipairs(T.lines(from)) do
    if line:sub(1, #prefix) == prefix then
      local text = line:sub(#prefix + 1)
      if text:match "^testlib sync %d+$" then break end
      out[#out + 1] = text
    end
  end
  return out
end

T.test("skynet.error joins tostring of every argument with single spaces; nil prints nil", function()
  local from = T.mark()
  skynet.error("a", nil, 1)
  skynet.error()
  skynet.error(nil)
  skynet.error(1.5, true, false, 10, -0x80000000)
  skynet.error(setmetatable({}, { __tostring = function() return "custom tostring" end }))
  skynet.error("two\nlines", "and\ttab")
  skynet.error("")
  skynet.error(nil, nil)
  T.eq(my_lines(from), {
    "a nil 1", "nil", "nil", "1.5 true false 10 -2147483648", "custom tostring",
    "two\nlines and\ttab", "", "nil nil",
  })
end)

T.test("time: integer now and starttime, float time close to os.time, hpc in ns", function()
  T.eq(math.type(skynet.now()), "integer", "now")
  T.eq(math.type(skynet.starttime()), "integer", "starttime")
  T.eq(math.type(skynet.time()), "float", "time")
  T.eq(math.type(skynet.hpc()), "integer", "hpc")
  T.ok(math.abs(skynet.time() - os.time()) <= 2, "time() " .. skynet.time() .. " vs os.time() " .. os.time())
  local expect = skynet.now() / 100 + skynet.starttime()
  T.ok(math.abs(skynet.time() - expect) <= 0.05, "time() = now()/100 + starttime()")
  local a = skynet.hpc()
  local b = skynet.hpc()
  T.ok(b >= a, "hpc is monotonic")
end)

T.test("sleep(100) takes about 1 s (at least 0.99 s by now() and by hpc)", function()
  local t0, h0 = skynet.now(), skynet.hpc()
  skynet.sleep(100)
  local ticks, ns = skynet.now() - t0, skynet.hpc() - h0
  T.ok(ticks >= 99, "now() advanced " .. ticks .. " ticks")
  T.ok(ns >= 0.98e9, "hpc advanced " .. ns .. " ns")
  T.ok(ticks < 1000, "now() advanced " .. ticks .. " ticks (generous upper bound)")
end)

T.test("skynet.stat and friends", function()
  local m0 = skynet.stat "message"
  T.eq(math.type(m0), "integer", "message")
  skynet.call(skynet.self(), "lua", "ping")
  T.ok(skynet.stat "message" > m0, "message count grows")
  T.eq(math.type(skynet.stat "mqlen"), "integer", "mqlen")
  T.eq(math.type(skynet.mqlen()), "integer", "mqlen()")
  T.eq(type(skynet.stat "cpu"), "number", "cpu")
  T.ok(skynet.stat "cpu" >= 0, "cpu")
  T.eq(type(skynet.stat "time"), "number", "time")
  T.eq(skynet.stat "endless", 0, "endless")
  T.eq(skynet.endless(), false, "endless()")
  T.eq(skynet.stat "no_such_stat", 0, "unknown")
end)

T.test("getenv returns strings; setenv adds keys seen by other services, refuses existing ones", function()
  T.eq(skynet.getenv "thread", "2", "thread")
  T.eq(skynet.getenv "harbor", "0", "harbor")
  T.eq(skynet.getenv "no_such_key", nil, "absent key")
  skynet.setenv("misc_number", 42)
  T.eq(skynet.getenv "misc_number", "42", "number stored as a string")
  skynet.setenv("misc_spaces", "a b  c")
  T.eq(skynet.getenv "misc_spaces", "a b  c", "spaces kept")
  local echo = skynet.newservice("echo")
  T.eq(skynet.call(echo, "lua", "getenv", "misc_number"), "42", "seen by another service")
  T.raises("Can't setenv exist key : thread$", skynet.setenv, "thread", "3")
  T.raises("Can't setenv exist key : misc_number$", skynet.setenv, "misc_number", "43")
  T.eq(skynet.getenv "misc_number", "42", "unchanged")
end)

T.test("memlimit in the main chunk: logged, then the function is gone", function()
  local from = T.mark()
  local h = skynet.newservice("memlimit")
  T.eq(table.pack(skynet.call(h, "lua", "check")), table.pack("function", true))
  T.log(T.line(h, "Set memory limit to 64.00 M"), from)
end)

-- A service over its limit fails the handler that allocated, not the node.
T.test("memlimit reached: the allocating handler fails, its caller gets call failed", function()
  local limit = 1024 * 1024
  local h = skynet.newservice("memlimit", limit)
  T.log(T.line(h, "Set memory limit to 1.00 M"))
  local from = T.mark()
  T.eq(skynet.call(h, "lua", "alloc", 1000), 1000)
  T.raises("call failed$", skynet.call, h, "lua", "alloc", 2 * limit)
  T.raises("call failed$", skynet.call, h, "lua", "sleep_alloc", 2 * limit)
  T.log("^%[" .. T.hex(h) .. "%] lua call %[.*not enough memory", from)
  -- A request too large to unpack: logged; nothing is owed for it.
  skynet.send(h, "lua", "noop", string.rep("y", 2 * limit))
  T.eq(skynet.call(h, "lua", "alloc", 1000), 1000, "the service goes on")
  T.eq(skynet.call(h, "lua", "sleep_alloc", 1000), 1000)
end)

T.test("standard libraries open on first use and then behave as the stock ones", function()
  local seen = skynet.call(skynet.newservice("freshlibs"), "lua", "get")
  T.eq(seen.math_answer, 42, "a field set before the library opened stays")
  T.eq(seen.math_pi, math.pi)
  T.eq(seen.same_tables, true, "package.loaded, require and _G hold the same tables")
  T.eq(seen.rep, "ababab")
  T.eq(seen.table_fields, "concat,insert,move,pack,remove,sort,unpack")
  T.eq(seen.utf8, "Hi")
  T.eq(seen.os_time, "integer")
  T.eq(seen.io_write, "function")
  T.eq(seen.traceback, "function")
  T.eq(seen.wrap, "wrapped")
end)

T.test("skynet.address and skynet.self", function()
  T.eq(math.type(skynet.self()), "integer")
  T.eq(skynet.address(10), ":0000000a")
  T.eq(skynet.address(0x12345678), ":12345678")
  T.eq(skynet.address(".name"), ".name")
end)

-- The overload warning: the receiver is inside one handler (it told us so) while we queue
-- 5000 sends and a ping, and spins until all are queued. skynet's thresholds (past 1024, then
-- each doubling), checked by the pushes themselves (docs/DESIGN.md, "Mailboxes"): 1025, 2049
-- and 4097, while the receiver is still busy.
T.test("overload: a burst to a busy service warns at each threshold; again after it drained", function()
  local h = skynet.newservice("echo")
  local from = T.mark()
  for burst = 1, 2 do
    spinning = nil
    skynet.send(h, "lua", "spin_until_queued", 5001, 20, skynet.self())
    T.eventually(function() return spinning end, 2500, "the receiver is busy")
    local before = T.mark()
    for _ = 1, 5000 do skynet.send(h, "lua", "noop") end
    skynet.call(h, "lua", "ping") -- returns once the whole burst was handled
    T.eq(skynet.call(h, "lua", "get", "spin_done"), true, "burst " .. burst .. " queued in time")
    for _, length in ipairs { 1025, 2049, 4097 } do
      T.log(T.line(h, "error: May overload, message queue length = " .. length), before)
    end
    T.eq(T.count_log("May overload", from), 3 * burst, "warnings after burst " .. burst)
    skynet.sleep(5) -- let the receiver see its queue empty (resets the threshold)
  end
end, 6000)

-- A runnable service waits in the global queue for any free worker. Here the
-- service that makes us runnable stays busy until we answer it (thread = 2: the other
-- worker is free). Repeated, since a wrong placement may only show now and then.
T.test("a service woken by a busy service runs on another worker meanwhile", function()
  local h = skynet.newservice("echo")
  for round = 1, 5 do
    spinning = nil
    -- h tells us it is spinning, then spins until a message waits in its queue (at most 5 s)
    skynet.send(h, "lua", "spin_until_queued", 1, 5, skynet.self())
    T.eventually(function() return spinning end, 1500, "the notice of round " .. round)
    skynet.send(h, "lua", "noop")
    T.eq(skynet.call(h, "lua", "get", "spin_done"), true,
      "round " .. round .. ": we ran while the service that woke us was still busy")
  end
end, 6000)

T.start()
