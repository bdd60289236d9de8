-- Client of the DATACENTER service (service/datacenterd.lua). Each function is one call.
local skynet = require "skynet"

local datacenter = {}

-- get(k1, ..., kn): the value at that path, or nil.
function datacenter.get(...)
  return skynet.call("DATACENTER", "lua", "QUERY", ...)
end

-- set(k1, ..., kn, value): stores the value, returns the previous one.
function datacenter.set(...)
  return skynet.call("DATACENTER", "lua", "UPDATE", ...)
end

-- wait(k1, ..., kn): the value at that path, once it has one.
function datacenter.wait(...)
  return skynet.call("DATACENTER", "lua", "WAIT", ...)
end

return datacenter
