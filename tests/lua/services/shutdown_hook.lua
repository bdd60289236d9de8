-- shutdown_hook: a start service for the graceful-shutdown tests of the binary
-- (tests/app/app_stop_test.cpp). It listens on a free loopback port and logs
-- "ready <port>", then by its argument:
--   hook     a shutdown hook logs "hook: <reason>", whether a connect to its port is still
--            accepted ("refused" once the node stopped accepting), sleeps 0.2 s, "hook: done"
--   stuck    a hook that logs "hook: stuck" and never returns
--   request  asks for a shutdown itself: shutdown.request("maintenance", 3)
local skynet = require "skynet"
local socket = require "skynet.socket"
local shutdown = require "skynet.shutdown"

local mode = ...

skynet.start(function()
  local listener, _, port = socket.listen("127.0.0.1", 0)
  socket.start(listener, function(id) socket.close(id) end)
  if mode == "hook" then
    shutdown.hook(function(reason)
      skynet.error("hook: " .. reason)
      local ok, id = pcall(socket.open, "127.0.0.1", port)
      skynet.error("hook: a connect now is " .. ((ok and id) and "accepted" or "refused"))
      skynet.sleep(20)
      skynet.error("hook: done")
    end)
  elseif mode == "stuck" then
    shutdown.hook(function()
      skynet.error("hook: stuck")
      skynet.wait()
    end)
  end
  skynet.error("ready " .. port)
  if mode == "request" then
    shutdown.request("maintenance", 3)
  end
end)
