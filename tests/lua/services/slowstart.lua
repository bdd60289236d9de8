-- slowstart <ticks>: the start function sleeps <ticks>, then records that it finished.
-- "started" -> true once the start function has returned from its sleep.
local skynet = require "skynet"

local ticks = tonumber((...)) or 100
local started = false

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd)
    if cmd == "started" then skynet.retpack(started) end
  end)
  skynet.sleep(ticks)
  started = true
end)
