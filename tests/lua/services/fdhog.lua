-- fdhog: a start service that runs the node out of file descriptors (the app test starts it
-- with a low RLIMIT_NOFILE) and logs what a listen and a require say then, before it gives
-- them back and asks for a normal shutdown.
local skynet = require "skynet"
local socket = require "skynet.socket"
local shutdown = require "skynet.shutdown"

skynet.start(function()
  require "skynet.datacenter" -- loads the coroutine-aware require first, while it can
  local held = {}
  while true do
    local ok, id = pcall(socket.listen, "127.0.0.1", 0)
    if not ok then
      skynet.error("listen: " .. tostring(id))
      break
    end
    held[#held + 1] = id
  end
  local ok, err = pcall(require, "skynet.queue")
  skynet.error("require: " .. tostring(ok) .. " " .. tostring(err))
  for _, id in ipairs(held) do
    socket.close(id)
  end
  shutdown.request("fdhog is done", 0)
end)
