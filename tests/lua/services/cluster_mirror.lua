-- cluster_mirror: answers every lua call with its own arguments, as the echo service of the
-- recorded cluster session did; with argument "fail" it raises on every call instead.
local skynet = require "skynet"

local mode = ...

skynet.start(function()
  skynet.dispatch("lua", function(session, _, ...)
    if session == 0 then return end
    if mode == "fail" then error "cluster_mirror: asked to fail" end
    skynet.retpack(...)
  end)
end)
