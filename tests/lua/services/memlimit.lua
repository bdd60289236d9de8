-- memlimit: calls skynet.memlimit(64 MiB) in its main chunk. Any lua request replies
-- (type of skynet.memlimit before the call, whether it is nil afterwards).
local skynet = require "skynet"

local before = type(skynet.memlimit)
skynet.memlimit(64 * 1024 * 1024)
local removed = skynet.memlimit == nil

skynet.start(function()
  skynet.dispatch("lua", function()
    skynet.retpack(before, removed)
  end)
end)
