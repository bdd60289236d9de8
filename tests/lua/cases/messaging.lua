-- Sending and calling: reply values, address forms, invalid destinations, redirect, calls
-- to self, ordering. docs/TESTING.md: Lua API checklist items 8, 10, 15, 16, core checklist
-- items 5 and 9.
local skynet = require "skynet"
local T = require "testlib"

local echo

skynet.dispatch("lua", function(_, source, cmd, ...)
  if cmd == "ping" then
    skynet.retpack("pong", source, ...)
  end
end)

T.test("setup: an echo service", function()
  echo = skynet.newservice("echo")
  T.eq(skynet.call(echo, "lua", "echo", "hello"), "hello")
end)

T.test("call returns every retpack value, embedded and trailing nils included", function()
  T.eq(table.pack(skynet.call(echo, "lua", "echo", 1, nil, 3)), table.pack(1, nil, 3))
  T.eq(table.pack(skynet.call(echo, "lua", "echo", 1, nil)), table.pack(1, nil))
  T.eq(table.pack(skynet.call(echo, "lua", "echo", "s", { a = { b = 2 } }, true, 1.5)),
    table.pack("s", { a = { b = 2 } }, true, 1.5))
end)

T.test("ret() with no values: call returns zero values", function()
  T.eq(select("#", skynet.call(echo, "lua", "nothing")), 0)
end)

T.test("send to a live service returns 0", function()
  T.eq(skynet.send(echo, "lua", "noop"), 0)
  T.eq(skynet.send(T.hex(echo), "lua", "noop"), 0, "as :hex string")
end)

T.test("send to a never-existing handle or unknown .name returns nil", function()
  T.eq(table.pack(skynet.send(T.INVALID, "lua", "noop")), table.pack(nil))
  T.eq(table.pack(skynet.send(".nonexist", "lua", "noop")), table.pack(nil))
end)

T.test("call to a never-existing handle raises call to invalid address :%08x", function()
  T.raises("call to invalid address " .. T.esc(T.hex(T.INVALID)) .. "$", skynet.call, T.INVALID, "lua", "x")
end)

T.test("call to an unknown .name raises call to invalid address .nonexist", function()
  T.raises("call to invalid address %.nonexist$", skynet.call, ".nonexist", "lua", "x")
end)

T.test("address 0 and bad address types raise", function()
  T.raises("Invalid service address 0$", skynet.call, 0, "lua", "x")
  T.raises("Invalid service address 0$", skynet.send, 0, "lua", "x")
  T.raises("dest address type %(table%) must be a string or number%.$", skynet.send, {}, "lua", "x")
  T.raises("dest address type %(boolean%) must be a string or number%.$", skynet.call, true, "lua", "x")
end)

T.test("call and send to a dead service", function()
  local h = skynet.newservice("echo")
  T.raises("call failed$", skynet.call, h, "lua", "exit")
  T.gone(h)
  T.raises("call to invalid address " .. T.esc(T.hex(h)) .. "$", skynet.call, h, "lua", "echo")
  T.eq(table.pack(skynet.send(h, "lua", "echo")), table.pack(nil))
end)

T.test("rawcall returns the raw reply; invalid address raises without the address", function()
  local msg, sz = skynet.rawcall(echo, "lua", skynet.pack("echo", "raw", 7))
  T.eq(table.pack(skynet.unpack(msg, sz)), table.pack("raw", 7))
  T.raises("call to invalid address$", skynet.rawcall, T.INVALID, "lua", skynet.packstring("x"))
end)

T.test("the error protocol packs with the identity: send(addr, 'error', '') works", function()
  local watcher = skynet.newservice("echo")
  T.eq(skynet.send(watcher, "error", ""), 0)
  T.eq(skynet.call(watcher, "lua", "echo", "alive"), "alive")
end)

T.test("rawsend sends a packed message", function()
  T.eq(skynet.rawsend(echo, "lua", skynet.packstring("collect", "rawsend", "r1")), 0)
  T.eq(skynet.call(echo, "lua", "get", "rawsend"), { "r1" })
end)

T.test("unknown protocol name in send and call raises", function()
  T.raises(".", skynet.send, echo, "no_such_protocol", "x")
  T.raises(".", skynet.call, echo, "no_such_protocol", "x")
end)

T.test("the callee sees the caller as source and a non-zero session", function()
  local session, source = skynet.call(echo, "lua", "context")
  T.eq(source, skynet.self(), "source")
  T.ok(math.type(session) == "integer" and session > 0, "session " .. tostring(session))
end)

T.test("call to self is handled by another coroutine", function()
  T.eq(table.pack(skynet.call(skynet.self(), "lua", "ping", 1)), table.pack("pong", skynet.self(), 1))
end)

T.test("redirect with a forged source: the reply goes to the forged source", function()
  local watcher = skynet.newservice("echo")
  skynet.call(watcher, "lua", "expect_unknown_response")
  local session = 4242
  T.eq(skynet.redirect(echo, watcher, "lua", session, skynet.packstring("echo", "to the watcher")), session)
  local got = T.eventually(function() return skynet.call(watcher, "lua", "get", "unknown_response") end)
  T.eq(got, table.pack(session, echo, "to the watcher"))
end)

T.test("redirect forwards a request so that the reply goes straight to the caller", function()
  local forwarder = skynet.newservice("echo")
  T.eq(table.pack(skynet.call(forwarder, "lua", "forward", echo, "echo", "via", nil, "forward")),
    table.pack("via", nil, "forward"))
  -- the final replier saw the original caller as source
  local _, source = skynet.call(forwarder, "lua", "forward", echo, "context")
  T.eq(source, skynet.self())
end)

T.test("genid allocates increasing sessions without sending", function()
  local a = skynet.genid()
  local b = skynet.genid()
  T.ok(math.type(a) == "integer" and a > 0, "first " .. tostring(a))
  T.eq(b, a + 1)
end)

T.test("1000 sends from one service arrive in order", function()
  for i = 1, 1000 do
    skynet.send(echo, "lua", "collect", "order", i)
  end
  local got = skynet.call(echo, "lua", "get", "order")
  T.eq(#got, 1000, "count")
  for i = 1, 1000 do
    if got[i] ~= i then T.fail("message " .. i .. " arrived as " .. tostring(got[i])) end
  end
end)

T.test("1000 sends relayed through another service arrive in order too", function()
  local relay = skynet.newservice("echo")
  for i = 1, 1000 do
    skynet.send(relay, "lua", "send", echo, "collect", "relayed", i)
  end
  skynet.call(relay, "lua", "ping") -- all 1000 sends of relay are done
  local got = skynet.call(echo, "lua", "get", "relayed")
  T.eq(#got, 1000, "count")
  for i = 1, 1000 do
    if got[i] ~= i then T.fail("message " .. i .. " arrived as " .. tostring(got[i])) end
  end
end)

T.start()
