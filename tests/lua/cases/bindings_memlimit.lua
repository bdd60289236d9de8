-- Every function of the native modules called at the memory limit (tests/lua/services/
-- squeeze.lua): none may lose a C++ object to a Lua error (lua/protected.hpp). Under the asan
-- build LeakSanitizer checks the whole node when it exits; here the case checks that every
-- binding is listed and called, and that the limit was really hit.
local skynet = require "skynet"
local T = require "testlib"

T.test("every binding at the memory limit", function()
  local echo = skynet.newservice("echo")
  local squeeze = skynet.newservice("squeeze", echo)
  local report = skynet.call(squeeze, "lua", "run")
  T.eq(report.missing, {}, "exported functions not in squeeze.lua's list")
  T.eq(report.stale, {}, "listed functions no module exports")
  T.eq(report.never_reached, {}, "functions that never got past the memory limit")
  T.ok(report.functions >= 150, "functions listed: " .. report.functions)
  T.ok(report.memory_errors > 100, "memory errors: " .. report.memory_errors)
  T.ok(report.calls > report.memory_errors, "calls: " .. report.calls)
  skynet.error(string.format("squeezed %d functions: %d calls, %d memory errors",
    report.functions, report.calls, report.memory_errors))
  for name, why in pairs(report.skipped) do skynet.error("not called: " .. name .. ": " .. why) end
  skynet.call(squeeze, "lua", "ping")
end, 9000)

T.start()
