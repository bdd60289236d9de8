-- skynet.deadline (Starling's own, docs/LUA.md): a call that gives up after a deadline, where
-- skynet.call would wait for ever: a callee killed mid-call, a request that cannot be
-- unpacked. Without a deadline (and without config `call_timeout`) a call still waits as in
-- skynet. A reply that comes after the deadline is dropped without a word.
local skynet = require "skynet"
require "skynet.manager"
local deadline = require "skynet.deadline"
local T = require "testlib"

local TIMED_OUT = "timed out after %d%.%d%d s$"

-- A session waited for that is only a BREAK marker (skynet.task lists them as "session: <n>").
local function break_markers()
  local tasks = {}
  skynet.task(tasks)
  local n = 0
  for key, value in pairs(tasks) do
    if value == "BREAK" and key:match "^session: " then n = n + 1 end
  end
  return n
end

local echo

T.test("setup: an echo service; deadline.call answers as skynet.call does", function()
  echo = skynet.newservice("echo")
  T.eq(table.pack(deadline.call(100, echo, "lua", "echo", 1, nil, "x")), table.pack(1, nil, "x"))
  local msg, sz = deadline.rawcall(100, echo, "lua", skynet.pack("echo", "raw"))
  T.eq(table.pack(skynet.unpack(msg, sz)), table.pack("raw"))
end)

T.test("bad arguments raise at once, like skynet.call's", function()
  T.raises("positive number of ticks or false", deadline.call, 0, echo, "lua", "echo")
  T.raises("positive number of ticks or false", deadline.call, -5, echo, "lua", "echo")
  T.raises("number expected, got boolean", deadline.call, true, echo, "lua", "echo")
  T.raises("number expected", deadline.call, "soon", echo, "lua", "echo")
  T.raises("call to invalid address", deadline.call, 10, T.INVALID, "lua", "echo")
  T.raises("unknown protocol", deadline.call, 10, echo, "nosuch", "echo")
end)

T.test("without a deadline, a call to a service killed mid-call waits, as in skynet", function()
  local victim = skynet.newservice("echo")
  local held = T.spawn(skynet.call, victim, "lua", "hold")
  skynet.yield() -- the hold request goes first
  T.eq(skynet.call(victim, "lua", "ping"), nil) -- so it is suspended inside the victim now
  skynet.kill(victim)
  T.gone(victim)
  skynet.sleep(50)
  T.ok(not held.done, "the plain call is still waiting")
end)

T.test("with a deadline, a call to a service killed mid-call fails with a clear error", function()
  local victim = skynet.newservice("echo")
  local held = T.spawn(deadline.call, 100, victim, "lua", "hold")
  skynet.yield()
  T.eq(skynet.call(victim, "lua", "ping"), nil)
  skynet.kill(victim)
  local err = held:err()
  T.match(err, "^call to " .. T.hex(victim) .. " timed out after 1%.00 s$")
end)

T.test("a request whose payload cannot be unpacked: waits without a deadline, fails with one", function()
  local bad = "\7" -- type 7 does not exist: the callee's unpack raises, nobody answers
  local from = T.mark()
  local plain = T.spawn(skynet.rawcall, echo, "lua", bad)
  local err = T.raises(TIMED_OUT, deadline.rawcall, 30, echo, "lua", bad)
  T.match(err, "^call to " .. T.hex(echo) .. " timed out after 0%.30 s$")
  T.log("^%[" .. T.hex(echo) .. "%] lua call %[.*Invalid serialize stream", from)
  T.ok(not plain.done, "the plain rawcall is still waiting")
  T.eq(skynet.call(echo, "lua", "echo", "still alive"), "still alive")
end)

T.test("a named callee is named in the error", function()
  local holder = skynet.newservice("echo")
  skynet.name(".deadline_holder", holder)
  local err = T.raises(TIMED_OUT, deadline.call, 20, ".deadline_holder", "lua", "hold")
  T.match(err, "^call to %.deadline_holder timed out after 0%.20 s$")
  skynet.kill(holder)
end)

T.test("a late reply after the deadline is dropped cleanly", function()
  local from = T.mark()
  local markers = break_markers()
  T.raises(TIMED_OUT, deadline.call, 10, echo, "lua", "hold", "late")
  T.eq(break_markers(), markers + 1, "the expired call waits as a BREAK marker")
  -- release answers first, then the held request replies "released" (the late reply), then
  -- ping: once ping has returned, the late reply has been handled.
  T.eq(skynet.call(echo, "lua", "release", "late"), true)
  T.eq(skynet.call(echo, "lua", "ping"), nil)
  T.eq(break_markers(), markers, "the late reply took the marker away")
  T.sync()
  T.no_log("Response message", from)
  T.no_log("Unknown session", from)
  T.no_log("lua call", from)
end)

T.test("a reply before the deadline: its timer is dropped when it fires", function()
  local from = T.mark()
  local markers = break_markers()
  T.eq(deadline.call(20, echo, "lua", "echo", "in time"), "in time")
  skynet.sleep(40) -- the deadline's timer has fired meanwhile
  T.eq(break_markers(), markers)
  T.sync()
  T.no_log("Response message", from)
  T.no_log("Unknown session", from)
end)

T.test("a callee that fails answers call failed, not a timeout", function()
  T.raises("call failed$", deadline.call, 100, echo, "lua", "raise", "boom")
  skynet.sleep(110) -- its deadline passes: nothing happens
  T.eq(skynet.call(echo, "lua", "echo", "after"), "after")
end)

T.test("under pcall in another coroutine, the error is an ordinary error value", function()
  local p = T.spawn(function()
    local ok, err = pcall(deadline.call, 10, echo, "lua", "hold", "traced")
    return ok, err
  end)
  local ok, err = p:value()
  T.eq(ok, false)
  T.match(err, TIMED_OUT)
  skynet.call(echo, "lua", "release", "traced")
end)

T.test("many expired calls that are never answered do not pile up", function()
  local holder = skynet.newservice("echo")
  local before = break_markers() -- earlier expired calls, and woken sleeps whose timers wait
  local failed = 0
  for i = 1, 1100 do
    skynet.fork(function()
      if not pcall(deadline.call, 1, holder, "lua", "hold", "k" .. i) then failed = failed + 1 end
    end)
  end
  T.eventually(function() return failed == 1100 end)
  -- 1100 calls expired; the markers of at most 1024 (the newest) are kept.
  T.ok(break_markers() <= before + 1024, "markers kept: " .. break_markers() - before)
  T.ok(break_markers() >= 1024, "markers kept: " .. break_markers())
  skynet.kill(holder)
end)

T.start()
