-- clusterproxy: a local stand-in for one service of a remote node (docs/CLUSTER.md).
--
-- Started by clusterd with (node, address). lua and snax messages sent to it go to the remote
-- service unchanged: a send becomes a push, a call a request whose raw reply (or error) is
-- relayed, so skynet.call(proxy, ...) behaves like cluster.call(node, address, ...).

local skynet = require "skynet"
require "skynet.manager" -- skynet.forward_type

local node, address = ...

skynet.register_protocol {
  name = "system",
  id = skynet.PTYPE_SYSTEM,
  unpack = function(...) return ... end,
}

-- Forward mode: the handlers own the messages and hand them on without a copy.
local forward = {
  [skynet.PTYPE_LUA] = skynet.PTYPE_SYSTEM,
  [skynet.PTYPE_SNAX] = skynet.PTYPE_SYSTEM,
  [skynet.PTYPE_RESPONSE] = skynet.PTYPE_RESPONSE, -- our own calls' replies are relayed as they are
}

-- skynet.call for forward mode: the reply is ours to free (skynet leaks it here).
local function call(target, ...)
  local msg, sz = skynet.rawcall(target, "lua", skynet.pack(...))
  local function freed(...)
    skynet.trash(msg, sz)
    return ...
  end
  return freed(skynet.unpack(msg, sz))
end

skynet.forward_type(forward, function()
  local clusterd = assert(call(".service", "LAUNCH", "clusterd"))
  address = math.tointeger(tonumber(address)) or address
  local sender = call(clusterd, "sender", node)
  skynet.dispatch("system", function(session, _, msg, sz)
    if session == 0 then
      skynet.send(sender, "lua", "push", address, msg, sz)
    else
      skynet.ret(skynet.rawcall(sender, "lua", skynet.pack("req", address, msg, sz)))
    end
  end)
end)
