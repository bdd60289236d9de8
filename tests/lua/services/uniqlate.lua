-- uniqlate: a target for queryservice, launched by uniqueservice only after the query.
local skynet = require "skynet"

skynet.start(function()
  skynet.dispatch("lua", function() skynet.retpack("uniqlate") end)
end)
