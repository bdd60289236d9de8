-- Config `call_timeout` (Starling's own, docs/CONFIG.md): every call made without a deadline
-- of its own gives up after it, in every service of the node; skynet.deadline's per-call
-- deadline replaces it.
--! call_timeout = 200
local skynet = require "skynet"
require "skynet.manager"
local deadline = require "skynet.deadline"
local T = require "testlib"

local echo

T.test("setup: the config value is there; calls that are answered are unchanged", function()
  T.eq(skynet.getenv "call_timeout", "200")
  echo = skynet.newservice("echo")
  T.eq(skynet.call(echo, "lua", "echo", "hello"), "hello")
end)

T.test("skynet.call to a service killed mid-call fails after call_timeout", function()
  local victim = skynet.newservice("echo")
  local held = T.spawn(skynet.call, victim, "lua", "hold")
  skynet.yield() -- the hold request goes first
  T.eq(skynet.call(victim, "lua", "ping"), nil)
  skynet.kill(victim)
  T.match(held:err(), "^call to " .. T.hex(victim) .. " timed out after 2%.00 s$")
end)

T.test("skynet.rawcall of a payload that cannot be unpacked fails after call_timeout", function()
  local from = T.mark()
  T.raises("^call to " .. T.hex(echo) .. " timed out after 2%.00 s$", skynet.rawcall, echo, "lua", "\7")
  T.log("^%[" .. T.hex(echo) .. "%] lua call %[.*Invalid serialize stream", from)
end)

T.test("a late reply after call_timeout is dropped cleanly", function()
  local from = T.mark()
  T.raises("timed out after 2%.00 s$", skynet.call, echo, "lua", "hold", "late")
  T.eq(skynet.call(echo, "lua", "release", "late"), true)
  T.eq(skynet.call(echo, "lua", "ping"), nil) -- after the late reply
  T.sync()
  T.no_log("Response message", from)
  T.no_log("Unknown session", from)
end)

T.test("a per-call deadline replaces call_timeout: longer, shorter, or none (false)", function()
  T.eq(deadline.call(500, echo, "lua", "sleep", 300, "slow"), "slow")
  T.raises("timed out after 0%.10 s$", deadline.call, 10, echo, "lua", "sleep", 100)
  T.eq(deadline.call(false, echo, "lua", "sleep", 300, "no deadline"), "no deadline")
  local msg, sz = deadline.rawcall(false, echo, "lua", skynet.pack("sleep", 250, "raw"))
  T.eq(skynet.unpack(msg, sz), "raw")
end)

T.test("other services' calls have it too: echo's call to a holder fails", function()
  local holder = skynet.newservice("echo")
  local from = T.mark()
  -- echo's own call times out and its handler raises: our call gets "call failed".
  T.raises("call failed$", deadline.call, 1000, echo, "lua", "call", holder, "hold")
  T.log("^%[" .. T.hex(echo) .. "%] lua call %[.*call to " .. T.hex(holder) .. " timed out after 2%.00 s", from)
  skynet.kill(holder)
end)

T.start()
