-- A service the soak spawns and kills while calls to it are in flight: "work" answers after
-- the given number of ticks.
local skynet = require "skynet"

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, ticks)
    assert(cmd == "work", "soak_victim: unknown command")
    skynet.sleep(ticks)
    skynet.retpack(ticks)
  end)
end)
