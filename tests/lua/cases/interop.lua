-- Lua and native C++ services call each other with the "lua" protocol (the Lua issue, item 4).
-- The native services come from examples/pingpong, modules pong.so and relay.so loaded through
-- cpath (run_case.cmake points it at the build's cservice/): `pong` answers ("ping", n) with
-- ("pong", n); `relay` calls a target with ("echo", value) and replies with its answer.
local skynet = require "skynet"
require "skynet.manager"
local T = require "testlib"

T.test("Lua calls a native service", function()
  local pong = skynet.launch("pong")
  T.ok(pong, "the native service launched")
  for n = 1, 3 do
    T.eq(table.pack(skynet.call(pong, "lua", "ping", n)), table.pack("pong", n))
  end
  T.raises("call failed$", skynet.call, pong, "lua", "shout", 1)
  skynet.send(pong, "lua", "ping", 4) -- a send to a native service needs no reply
  T.eq(table.pack(skynet.call(pong, "lua", "ping", 5)), table.pack("pong", 5), "still answers")
end)

T.test("a native module found nowhere in cpath launches nothing", function()
  T.eq(skynet.launch("no_such_module"), nil)
  T.eq(skynet.launch("../cservice/pong"), nil, "a name is not a path")
  T.ok(skynet.launch("pong"), "a module that loaded once launches again")
end)

T.test("a native service calls a Lua service", function()
  local echo = skynet.newservice("echo")
  local relay = skynet.launch("relay")
  T.eq(skynet.call(relay, "lua", "relay", echo, "through C++"), "through C++")
  T.eq(skynet.call(relay, "lua", "relay", skynet.self(), "to the caller itself"),
    "to the caller itself", "relay calls back into the service that is waiting on it")
  skynet.send(echo, "debug", "EXIT")
  T.gone(echo)
  T.raises("call failed$", skynet.call, relay, "lua", "relay", echo, "x")
end)

skynet.dispatch("lua", function(_, _, cmd, value)
  if cmd == "echo" then skynet.retpack(value) end
end)

T.start()
