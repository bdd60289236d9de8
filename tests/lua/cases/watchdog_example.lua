-- examples/watchdog end to end: a watchdog on a port of its own choosing, the demo client
-- sends framed packets through the gate to an agent and gets them back.
--! luaservice = luaservice .. ";" .. test_src .. "/../../examples/watchdog/?.lua"
local skynet = require "skynet"
local T = require "testlib"

T.test("the agent echoes every packet the client sends", function()
  local watchdog = skynet.newservice "watchdog"
  local address, port = skynet.call(watchdog, "lua", "start",
    { address = "127.0.0.1", port = 0, nodelay = true })
  T.eq(address, "127.0.0.1")
  local client = skynet.newservice("client", address, port)
  local sent = { "hello", "", string.rep("x", 65535), "bye" }
  T.eq(skynet.call(client, "lua", "run", sent), sent)
  T.log("New client from 127%.0%.0%.1:%d+ fd %d+$")
  T.log("Client closed, fd %d+$")
  -- The watchdog ends the agent by a send: its exit is waited for, so it is not logged after
  -- the verdict.
  T.log("KILL self$")
end)

T.start()
