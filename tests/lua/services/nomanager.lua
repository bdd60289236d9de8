-- nomanager: never requires skynet.manager. Any lua request replies
-- (names of the manager functions present on the skynet table, pcall results of skynet.abort()).
local skynet = require "skynet"

local names = { "launch", "kill", "abort", "register", "name", "forward_type", "filter", "monitor" }

skynet.start(function()
  skynet.dispatch("lua", function()
    local present = {}
    for _, n in ipairs(names) do
      if skynet[n] ~= nil then present[#present + 1] = n end
    end
    local ok, err = pcall(function() skynet.abort() end)
    skynet.retpack(present, ok, err)
  end)
end)
