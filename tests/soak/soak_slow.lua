-- A slow service for the soak's floods: each "work" send costs it some CPU; "ping" is answered
-- once everything sent before it was worked through.
local skynet = require "skynet"

local done = 0

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd)
    if cmd == "work" then
      local x = 0
      for i = 1, 2000 do
        x = x + i
      end
      done = done + 1
    else
      assert(cmd == "ping", "soak_slow: unknown command")
      skynet.retpack(done)
    end
  end)
end)
