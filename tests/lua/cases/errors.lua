-- Failure paths: errors in handlers and their log line, unknown requests and responses,
-- services that exit or are killed with requests pending, messages to another harbor,
-- SIGNAL. docs/TESTING.md: Lua API checklist items 9 and 11, core checklist items 6, 7, 8
-- and 15.
local skynet = require "skynet"
require "skynet.manager"
local core = require "skynet.core"
local T = require "testlib"

-- Type 0 by name, so that tests can send it (this service never receives it).
skynet.register_protocol {
  name = "text",
  id = skynet.PTYPE_TEXT,
  pack = function(...) return table.concat({ ... }, " ") end,
  unpack = skynet.tostring,
}

local spinning
skynet.dispatch("lua", function(_, _, cmd, ...)
  if cmd == "spinning" then spinning = ... end
end)

local echo

local function hex(h) return string.format("%x", h) end

-- The dispatch-error line of `service` for a message (source, session, msgsz).
local function error_header(service, source, session, msgsz)
  return "^%[" .. T.hex(service) .. "%] lua call %[" .. hex(source) .. " to :" .. hex(service) .. " : "
    .. session .. " msgsz = " .. msgsz .. "%] error : \27%[31m"
end

T.test("setup: an echo service", function()
  echo = skynet.newservice("echo")
  T.eq(skynet.call(echo, "lua", "echo", "hello"), "hello")
end)

T.test("callee raising: caller gets only call failed; callee logs the lua call [...] line", function()
  local msgsz = #skynet.packstring("raise", "callee boom")
  local from = T.mark()
  local session = skynet.genid() + 1 -- the session of the call below
  local err = T.raises("call failed$", skynet.call, echo, "lua", "raise", "callee boom")
  T.ok(not err:find("callee boom", 1, true), "the callee's error text is not transmitted: " .. err)
  T.log(error_header(echo, skynet.self(), session, msgsz) .. ".*callee boom.*\27%[0m$", from)
  T.eq(skynet.call(echo, "lua", "echo", "still alive"), "still alive")
end)

T.test("an error object that is not a string: the log line names its type", function()
  local from = T.mark()
  T.raises("call failed$", skynet.call, echo, "lua", "raise", { "not a string" })
  T.log(error_header(echo, skynet.self(), ".-", ".-") .. "%(error object is a table value%)", from)
  T.eq(skynet.call(echo, "lua", "echo", "still alive"), "still alive")
end)

-- A managed coroutine may yield only the scheduler's commands.
T.test("a raw yield of anything else: Unknown command : <value or type>, the service goes on", function()
  local from = T.mark()
  skynet.fork(function() coroutine.yield(42) end)
  skynet.fork(function() coroutine.yield({}) end)
  local many = {}
  for i = 1, 200 do many[i] = 7 * i end
  skynet.fork(function() coroutine.yield(table.unpack(many)) end)
  skynet.yield()
  T.log("^%[" .. T.hex(skynet.self()) .. "%] lua call %[.*Unknown command : 42\nstack traceback:", from)
  T.log("^%[" .. T.hex(skynet.self()) .. "%] lua call %[.*Unknown command : table\nstack traceback:", from)
  T.log("^%[" .. T.hex(skynet.self()) .. "%] lua call %[.*Unknown command : 7\nstack traceback:", from)
end)

-- As in skynet, a request is owed a reply only once it has been unpacked: a message that does
-- not unpack is logged, and a caller would wait for ever (here: a send, session 0).
T.test("a request that does not unpack: its error is logged and the service goes on", function()
  local bad = "\7" -- type 7 does not exist
  T.raises("Invalid serialize", skynet.unpack, bad)
  local from = T.mark()
  skynet.rawsend(echo, "lua", bad)
  T.log(error_header(echo, skynet.self(), 0, 1) .. "Invalid serialize stream", from)
  T.eq(skynet.call(echo, "lua", "echo", "still alive"), "still alive")
  T.no_log("Maybe forgot response", from)
end)

T.test("unregistered type, session 0: Unknown request (0) line, then an Unknown session error", function()
  local from = T.mark()
  T.eq(skynet.send(echo, "text", "hello unknown"), 0)
  local _, request_at = T.log(T.line(echo, "Unknown request (0): hello unknown"), from)
  local _, error_at = T.log(error_header(echo, skynet.self(), 0, #"hello unknown")
    .. ".*Unknown session : 0 from " .. hex(skynet.self()) .. ".*\27%[0m$", from)
  T.ok(request_at < error_at, "Unknown request is logged before the error")
end)

T.test("unregistered type, session != 0: the caller gets call failed, nothing logged", function()
  local from = T.mark()
  T.raises("call failed$", skynet.call, echo, "text", "hello call")
  T.no_log("^%[" .. T.hex(echo) .. "%] .*Unknown", from)
end)

T.test("registered protocol without dispatch: Unknown request (lua); a call fails", function()
  local h = skynet.newservice("nodispatch")
  local from = T.mark()
  T.eq(skynet.send(h, "lua", "anything"), 0)
  T.log("^%[" .. T.hex(h) .. "%] Unknown request %(lua%): ", from)
  T.log(error_header(h, skynet.self(), 0, #skynet.packstring("anything")) .. ".*Unknown session : 0 from ", from)
  T.raises("call failed$", skynet.call, h, "lua", "anything")
end)

T.test("unknown response: Response message line, then an Unknown session error", function()
  local from = T.mark()
  skynet.redirect(echo, skynet.self(), "response", 424242, "stray payload")
  local _, response_at = T.log(T.line(echo, "Response message : stray payload"), from)
  local _, error_at = T.log(error_header(echo, skynet.self(), 424242, #"stray payload")
    .. ".*Unknown session : 424242 from " .. hex(skynet.self()) .. ".*\27%[0m$", from)
  T.ok(response_at < error_at, "Response message is logged before the error")
end)

T.test("newservice with a boolean argument fails", function()
  T.raises("call failed$", skynet.newservice, "echo", true)
end)

T.test("exit with requests queued: the message being handled completes, queued callers fail", function()
  local h = skynet.newservice("echo")
  local pa = T.spawn(skynet.call, h, "lua", "exit_when_queued", 2) -- spins until b and c are queued
  local pb = T.spawn(skynet.call, h, "lua", "echo", "b")
  local pc = T.spawn(skynet.call, h, "lua", "echo", "c")
  T.eq(pa:value(), "done", "the message being processed")
  T.match(pb:err(), "call failed$", "first queued call")
  T.match(pc:err(), "call failed$", "second queued call")
end)

T.test("a reply that cannot be packed fails the call instead of leaving it hanging", function()
  local h = skynet.newservice("echo")
  T.raises("call failed$", skynet.call, h, "lua", "retpack_function")
  T.eq(skynet.call(h, "lua", "echo", "after"), "after", "the service goes on")
end)

T.test("kill with requests queued: the queued callers get call failed", function()
  local h = skynet.newservice("echo")
  skynet.send(h, "lua", "spin_until_queued", 1000, 1) -- busy for about 1 s
  local p1 = T.spawn(skynet.call, h, "lua", "echo", 1)
  local p2 = T.spawn(skynet.call, h, "lua", "echo", 2)
  skynet.yield() -- both calls are sent
  skynet.kill(h)
  T.match(p1:err(), "call failed$", "first queued call")
  T.match(p2:err(), "call failed$", "second queued call")
end)

T.test("killed while suspended in a handler: the caller hangs until skynet.term", function()
  local h = skynet.newservice("echo")
  local p = T.spawn(skynet.call, h, "lua", "hold")
  skynet.yield()
  skynet.call(h, "lua", "ping") -- the hold request is now suspended inside h
  local from = T.mark()
  skynet.kill(h)
  T.log(T.line(skynet.self(), "KILL :" .. hex(h)), from)
  skynet.sleep(50)
  T.eq(p.done, false, "a killed service answers nothing")
  skynet.term(h)
  T.match(p:err(), "call failed$")
end)

T.test("call to a handle of another harbor: call failed and a Drop message line", function()
  local harbor_line = T.log("^%[:%x+%] LAUNCH harbor ")
  local harbor = harbor_line:match "^%[(:%x+)%]"
  local remote = 0x01000009
  local msgsz = #skynet.packstring("echo", "x")
  local from = T.mark()
  local session = skynet.genid() + 1
  T.raises("call failed$", skynet.call, remote, "lua", "echo", "x")
  T.log("^%[" .. harbor .. "%] Drop message to harbor 1 from " .. hex(skynet.self()) .. " to 1000009 %(session = "
    .. session .. ", msgsz = " .. msgsz .. "%)$", from)
  T.eq(table.pack(skynet.harbor(remote)), table.pack(1, true), "skynet.harbor of the remote handle")
  T.eq(table.pack(skynet.harbor(skynet.self())), table.pack(0, false), "skynet.harbor of self")
end)

T.test("SIGNAL :h 0 breaks a Lua busy loop with the error signal 0", function()
  local h = skynet.newservice("echo")
  spinning = nil
  local from = T.mark()
  local p = T.spawn(skynet.call, h, "lua", "spin", skynet.self())
  T.eventually(function() return spinning end, nil, "the spin handler started")
  core.command("SIGNAL", T.hex(h) .. " 0")
  T.match(p:err(2000), "call failed$", "the interrupted request")
  T.log(T.line(h, "recv a signal 0"), from)
  T.log("^%[" .. T.hex(h) .. "%] lua call %[" .. hex(skynet.self()) .. " to :" .. hex(h)
    .. " : %d+ msgsz = %d+%] error : \27%[31m.*signal 0", from)
  T.eq(skynet.call(h, "lua", "echo", "after"), "after", "the service goes on")
end, 3000)

T.test("SIGNAL :h 1 logs the Lua memory", function()
  local h = skynet.newservice("echo")
  local from = T.mark()
  core.command("SIGNAL", T.hex(h) .. " 1")
  T.log("^%[" .. T.hex(h) .. "%] Current Memory %d+%.%d%d%dK$", from)
end)

T.start()
