-- uniqslow: like uniq, but its start function sleeps 20 ticks (concurrent uniqueservice calls
-- arrive while it boots).
local skynet = require "skynet"

local args = table.pack(...)

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd)
    if cmd == "args" then skynet.retpack(table.unpack(args, 1, args.n)) end
  end)
  skynet.sleep(20)
end)
