-- The debug protocol every Lua service answers. docs/TESTING.md: Lua API checklist item 31.
local skynet = require "skynet"
local T = require "testlib"

local echo

local function debug_call(addr, ...)
  return skynet.call(addr, "debug", ...)
end

T.test("setup: an echo service", function()
  echo = skynet.newservice("echo")
end)

T.test("MEM: the Lua heap in KB", function()
  local kb = debug_call(echo, "MEM")
  T.eq(math.type(kb), "float", "type")
  T.ok(kb > 0, "positive")
end)

T.test("STAT: task, mqlen, cpu, message", function()
  local stat = debug_call(echo, "STAT")
  T.eq(type(stat), "table")
  for _, key in ipairs { "task", "mqlen", "cpu", "message" } do
    T.eq(type(stat[key]), "number", key)
  end
  T.ok(stat.message > 0, "messages dispatched")
end)

T.test("PING: an empty reply", function()
  T.eq(select("#", debug_call(echo, "PING")), 0)
end)

T.test("SUPPORT: true for a protocol with a dispatch function", function()
  T.eq(debug_call(echo, "SUPPORT", "lua"), true, "lua")
  T.eq(not debug_call(echo, "SUPPORT", "text"), true, "text")
  T.eq(not debug_call(echo, "SUPPORT", "no_such_protocol"), true, "no_such_protocol")
end)

T.test("INFO: the info_func result, nil without one", function()
  local h = skynet.newservice("echo")
  T.eq(debug_call(h, "INFO", "x"), nil, "without info_func")
  skynet.call(h, "lua", "info_func")
  T.eq(debug_call(h, "INFO", "x", 2), { "info", "x", 2 })
end)

T.test("TASK and UNIQTASK list the waiting coroutines; TASK(session) gives a traceback", function()
  local h = skynet.newservice("echo")
  T.spawn(skynet.call, h, "lua", "hold", "t1")
  T.spawn(skynet.call, h, "lua", "hold", "t2")
  skynet.yield()
  skynet.call(h, "lua", "ping")
  local tasks = debug_call(h, "TASK")
  local sessions = {}
  for k, v in pairs(tasks) do
    local s = T.match(k, "session: (%d+)$", "TASK key"):match "session: (%d+)$"
    sessions[#sessions + 1] = tonumber(s)
    T.eq(type(v), "string", "TASK value")
  end
  T.eq(#sessions, 2, "two waiting coroutines")
  T.eq(type(debug_call(h, "TASK", sessions[1])), "string", "TASK(session)")
  local uniq = debug_call(h, "UNIQTASK")
  local n = 0
  for k in pairs(uniq) do
    n = n + 1
    T.match(k, "^2\tsessions:%[%d+,%d+%]\n$", "UNIQTASK key")
  end
  T.eq(n, 1, "both holds share one traceback")
end)

T.test("KILLTASK: kills a waiting coroutine by name (its caller fails); Not found otherwise", function()
  local h = skynet.newservice("echo")
  local p = T.spawn(skynet.call, h, "lua", "hold")
  skynet.yield()
  skynet.call(h, "lua", "ping")
  local name
  for k in pairs(debug_call(h, "TASK")) do
    name = k:match "^(.-) session: %d+$"
  end
  T.ok(name, "a task name")
  local from = T.mark()
  T.eq(select("#", debug_call(h, "KILLTASK", name)), 0, "reply of KILLTASK")
  T.log("^%[" .. T.hex(h) .. "%] Kill " .. T.esc(name), from)
  T.match(p:err(), "call failed$", "the request the killed coroutine was serving")
  T.eq(debug_call(h, "KILLTASK", "no such task"), "Not found")
  T.log(T.line(h, "Kill no such task : Not found"), from)
end)

T.test("TRACELOG: logs the switch, empty reply; a non-string proto means lua", function()
  local h = skynet.newservice("echo")
  local from = T.mark()
  T.eq(select("#", debug_call(h, "TRACELOG", "lua", false)), 0)
  local _, first = T.log(T.line(h, "Turn trace log false for lua"), from)
  T.eq(select("#", debug_call(h, "TRACELOG", false)), 0)
  T.log(T.line(h, "Turn trace log false for lua"), first + 1)
end)

T.test("RUN: injected code, print output captured, arguments passed", function()
  local ok, out = debug_call(echo, "RUN", "print('a', 1) print(...) return 1", nil, "x", "y")
  T.eq(ok, true, "ok")
  T.eq(out, "a\t1\nx\ty")
end)

T.test("RUN: _P exposes the upvalues of the dispatch functions, globals fall back", function()
  local ok, out = debug_call(echo, "RUN", "print(type(_P.lua.CMD), type(_P.lua.CMD.echo), type(skynet), type(string))")
  T.eq(ok, true, "ok")
  T.eq(out, "table\tfunction\tnil\ttable")
end)

T.test("RUN: runtime and compile errors reply false and the message", function()
  local ok, out = debug_call(echo, "RUN", "print('before') error('run boom')", "inject.lua")
  T.eq(ok, false, "runtime error")
  T.match(out, "run boom", "runtime error text")
  ok, out = debug_call(echo, "RUN", "this is not lua")
  T.eq(ok, false, "compile error")
  T.eq(type(out), "string", "compile error text")
end)

T.test("GC: no reply, a GC line in the log", function()
  local from = T.mark()
  skynet.send(echo, "debug", "GC")
  T.log("^%[" .. T.hex(echo) .. "%] GC %d+%.%d%d Kb %-> %d+%.%d%d Kb, cost %d+%.%d%d sec$", from)
end)

T.test("LINK: never answered while the target lives; raises when it exits", function()
  local h = skynet.newservice("echo")
  local p = T.blocks(30, debug_call, h, "LINK")
  skynet.send(h, "lua", "exit")
  T.match(p:err(), "call failed$")
end)

T.test("EXIT: the service exits, the caller gets call failed", function()
  local h = skynet.newservice("echo")
  local from = T.mark()
  T.raises("call failed$", debug_call, h, "EXIT")
  T.log(T.line(h, "KILL self"), from)
end)

T.test("skynet.debugchannel: lines in order, read never waits, one reader per channel", function()
  local debugchannel = require "skynet.debugchannel"
  local writer, id = debugchannel.create()
  T.eq(math.type(id), "integer", "the id is an integer that crosses services")
  local reader = debugchannel.connect(id)
  T.eq(reader:read(), nil, "nothing queued")
  writer:write "one"
  writer:write ""
  writer:write "three"
  T.eq({ reader:read(), reader:read(), reader:read(), reader:read() }, { "one", "", "three" })
  T.raises("new channel failed", debugchannel.connect, id)
  T.raises("new channel failed", debugchannel.connect, id + 1000)
  local other = select(2, debugchannel.create())
  collectgarbage()
  collectgarbage()
  T.raises("new channel failed", debugchannel.connect, other) -- its creator is gone
end)

T.test("a coroutine that yields nothing is left paused (6.7); the debugger resumes it", function()
  local debugchannel = require "skynet.debugchannel"
  local from = T.mark()
  local stage = 0
  local co
  skynet.fork(function()
    co = coroutine.running()
    stage = 1
    coroutine.yield()
    stage = 2
  end)
  T.eventually(function() return stage == 1 end)
  skynet.sleep(1)
  T.eq(stage, 1, "still paused")
  T.no_log("Unknown command", from)
  T.eq(debugchannel.resume(coroutine.running()), false, "a running coroutine is not paused")
  T.eq(debugchannel.resume(co), true)
  T.eq(stage, 2, "resumed to its end")
  T.eq(debugchannel.resume(co), false, "a finished coroutine is not paused")
end)

T.test("skynet.debugchannel.sethook: a line hook returning true pauses the coroutine", function()
  local debugchannel = require "skynet.debugchannel"
  local lines = {}
  local stops = 0
  local co
  skynet.fork(function()
    co = coroutine.running()
    debugchannel.sethook(function(event, line)
      if event == "line" then
        lines[#lines + 1] = line
        stops = stops + 1
        return stops <= 2
      end
    end, "l")
    local x = 1
    x = x + 1
    debugchannel.sethook()
    stops = -x
  end)
  T.eventually(function() return co ~= nil end)
  T.eq(#lines, 1, "paused at the first line after sethook")
  T.eq(debugchannel.resume(co), true)
  T.eq(#lines, 2, "paused again at the next line")
  T.eq(debugchannel.resume(co), true)
  T.eq(stops, -2, "ran to the end once the hook said no more")
  T.eq(lines[2], lines[1] + 1)
end)

T.test("unknown debug command: call failed", function()
  T.raises("call failed$", debug_call, echo, "NO_SUCH_COMMAND")
  T.eq(skynet.call(echo, "lua", "echo", "alive"), "alive")
end)

T.start()
