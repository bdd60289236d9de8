-- skynet.harbor (docs/LUA_SERVICES.md): global names and harbor links, all through the
-- `.cslave` service (cdummy in single-node mode).
local skynet = require "skynet"

local harbor = {}

function harbor.globalname(name, handle)
  skynet.send(".cslave", "lua", "REGISTER", name, handle or skynet.self())
end

function harbor.queryname(name)
  return skynet.call(".cslave", "lua", "QUERYNAME", name)
end

function harbor.link(id)
  skynet.call(".cslave", "lua", "LINK", id)
end

function harbor.connect(id)
  skynet.call(".cslave", "lua", "CONNECT", id)
end

-- cdummy has no master link: it rejects the command and this call fails.
function harbor.linkmaster()
  skynet.call(".cslave", "lua", "LINKMASTER")
end

return harbor
