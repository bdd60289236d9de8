-- Responding: ret, retpack, response closures, context, ignoreret, "Maybe forgot response".
-- docs/TESTING.md: Lua API checklist items 12-14.
local skynet = require "skynet"
require "skynet.manager"
local T = require "testlib"

local echo

T.test("setup: an echo service", function()
  echo = skynet.newservice("echo")
  T.eq(skynet.call(echo, "lua", "echo", "hello"), "hello")
end)

T.test("ret twice: the second raises No session", function()
  T.eq(skynet.call(echo, "lua", "ret_twice"), "first")
  local r = skynet.call(echo, "lua", "get", "ret_twice")
  T.eq(r[1], false, "second ret succeeded")
  T.match(r[2], "No session$")
end)

T.test("ret in a fork raises No session", function()
  T.eq(skynet.call(echo, "lua", "ret_in_fork"), "ok")
  local r = skynet.call(echo, "lua", "get", "ret_in_fork")
  T.eq(r[1], false, "ret in a fork succeeded")
  T.match(r[2], "No session$")
end)

T.test("ret for a send returns false", function()
  skynet.send(echo, "lua", "ret_on_send")
  T.eq(skynet.call(echo, "lua", "get", "ret_on_send"), table.pack(false))
end)

T.test("an error after ret only logs; the caller has its reply", function()
  local from = T.mark()
  T.eq(skynet.call(echo, "lua", "ret_then_raise", "raised after ret"), "fine")
  T.log("^%[" .. T.hex(echo) .. "%] lua call %[.* error : \27%[31m.*raised after ret", from)
end)

T.test("context: session and source, source kept after ret", function()
  local session, source = skynet.call(echo, "lua", "context_after_ret")
  T.ok(session > 0, "session")
  T.eq(source, skynet.self(), "source")
  local after = skynet.call(echo, "lua", "get", "context_after_ret")
  T.eq(after[1], nil, "session after ret")
  T.eq(after[2], skynet.self(), "source after ret")
end)

T.test("response: deferred reply from another coroutine", function()
  local p = T.spawn(skynet.call, echo, "lua", "defer", "d1")
  T.eventually(function() return skynet.call(echo, "lua", "has", "d1") end)
  T.eq(p.done, false, "caller blocked until the closure is used")
  T.eq(table.pack(skynet.call(echo, "lua", "respond", "d1", true, "late", nil, 3)), table.pack(true, true))
  T.eq(table.pack(p:value()), table.pack("late", nil, 3))
end)

T.test("response: TEST is true while owed, false after use; second use raises", function()
  local p = T.spawn(skynet.call, echo, "lua", "defer", "d2")
  T.eventually(function() return skynet.call(echo, "lua", "has", "d2") end)
  T.eq(table.pack(skynet.call(echo, "lua", "respond", "d2", "TEST")), table.pack(true, true), "TEST before use")
  T.eq(table.pack(skynet.call(echo, "lua", "respond", "d2", "TEST")), table.pack(true, true), "TEST does not consume")
  T.eq(table.pack(skynet.call(echo, "lua", "respond", "d2", true, "v")), table.pack(true, true), "use")
  T.eq(p:value(), "v")
  T.eq(table.pack(skynet.call(echo, "lua", "respond", "d2", "TEST")), table.pack(true, false), "TEST after use")
  local ok, err = skynet.call(echo, "lua", "respond", "d2", true, "again")
  T.eq(ok, false, "second use succeeded")
  T.match(err, "Can't response more than once$")
end)

T.test("response(false): the caller raises call failed", function()
  local p = T.spawn(skynet.call, echo, "lua", "defer", "d3")
  T.eventually(function() return skynet.call(echo, "lua", "has", "d3") end)
  T.eq(table.pack(skynet.call(echo, "lua", "respond", "d3", false)), table.pack(true, true))
  T.match(p:err(), "call failed$")
end)

T.test("response after the requester exited: TEST false, reply returns false", function()
  local requester = skynet.newservice("echo")
  local p = T.spawn(skynet.call, requester, "lua", "call", echo, "defer", "d4")
  T.eventually(function() return skynet.call(echo, "lua", "has", "d4") end)
  -- the requester exits while its call to echo is pending: it tells echo it is gone
  T.raises("call failed$", skynet.call, requester, "lua", "exit")
  T.match(p:err(), "call failed$", "our call to the exiting requester")
  T.eventually(function()
    local _, test = skynet.call(echo, "lua", "respond", "d4", "TEST")
    return test == false
  end, nil, "TEST becomes false once echo hears the requester is gone")
  T.eq(table.pack(skynet.call(echo, "lua", "respond", "d4", true, "too late")), table.pack(true, false))
end)

T.test("response after the requester was killed: TEST true, reply returns false", function()
  local requester = skynet.newservice("echo")
  T.spawn(skynet.call, requester, "lua", "call", echo, "defer", "d5")
  T.eventually(function() return skynet.call(echo, "lua", "has", "d5") end)
  skynet.kill(requester)
  T.eq(table.pack(skynet.call(echo, "lua", "respond", "d5", "TEST")), table.pack(true, true), "TEST")
  T.eq(table.pack(skynet.call(echo, "lua", "respond", "d5", true, "nobody")), table.pack(true, false), "reply")
end)

T.test("response for a send is a function that does nothing", function()
  skynet.send(echo, "lua", "response_on_send")
  local r = skynet.call(echo, "lua", "get", "response_on_send")
  T.eq(r[1], "function", "type")
  T.eq(r[2], true, "calling it raised")
end)

T.test("response without a current request raises no session; after ret too", function()
  skynet.call(echo, "lua", "response_in_fork")
  local r = skynet.call(echo, "lua", "get", "response_in_fork")
  T.eq(r[1], false, "response in a fork succeeded")
  T.match(r[2], "no session$")
  skynet.call(echo, "lua", "response_after_ret")
  r = skynet.call(echo, "lua", "get", "response_after_ret")
  T.eq(r[1], false, "response after ret succeeded")
  T.match(r[2], "no session$")
end)

T.test("ret and response in a fork (no current request) raise", function()
  T.raises("No session$", skynet.ret)
  T.raises("no session$", skynet.response)
end)

T.test("a handler that returns without replying: Maybe forgot response, caller blocked", function()
  local from = T.mark()
  local session
  local p = T.blocks(50, function()
    session = skynet.genid() + 1 -- the session the call below allocates
    return skynet.call(echo, "lua", "forget")
  end)
  T.eq(p.done, false)
  local line = T.log("^%[" .. T.hex(echo) .. "%] Maybe forgot response session %d+ from "
    .. T.esc(T.hex(skynet.self())) .. " : .*echo%.lua:%d+$", from)
  T.eq(tonumber(line:match "session (%d+) from"), session, "session in the warning")
end)

T.test("ignoreret: no reply, no warning", function()
  local forwarder = skynet.newservice("echo")
  local from = T.mark()
  -- forward to an invalid address: ignoreret, redirect fails, nothing answers
  T.blocks(50, skynet.call, forwarder, "lua", "forward", T.INVALID, "echo")
  skynet.call(forwarder, "lua", "ping")
  T.no_log("Maybe forgot response", from)
end)

T.start()
