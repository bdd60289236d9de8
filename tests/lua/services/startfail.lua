-- startfail: the start function raises "startfail: boom in start".
local skynet = require "skynet"

skynet.start(function()
  error("startfail: boom in start")
end)
