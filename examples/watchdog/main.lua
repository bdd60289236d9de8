-- Start service of the watchdog example: a watchdog with its gate, then the demo client.
local skynet = require "skynet"
require "skynet.manager"

skynet.start(function()
  local watchdog = skynet.newservice "watchdog"
  local address, port = skynet.call(watchdog, "lua", "start", {
    address = skynet.getenv "gate_address" or "127.0.0.1",
    port = tonumber(skynet.getenv "gate_port") or 8888,
    maxclient = 64,
    nodelay = true,
  })
  skynet.error(string.format("Watchdog listening on %s %d", address, port))

  local client = skynet.newservice("client", address, port)
  local sent = { "hello", "", string.rep("x", 1000), "bye" }
  local echoed = skynet.call(client, "lua", "run", sent)
  for i = 1, #sent do
    assert(echoed[i] == sent[i], "echo " .. i .. " differs")
  end
  skynet.error(string.format("Echo OK: %d packets", #sent))

  if skynet.getenv "serve" ~= "true" then
    -- Let the logger write the lines above first.
    skynet.timeout(50, skynet.abort)
  end
end)
