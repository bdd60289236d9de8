-- First Lua service of a node (docs/LUA_SERVICES.md): starts the launcher and the system
-- services in a fixed order (so handles 3..7 are always the same), then the start service.
local skynet = require "skynet"
require "skynet.manager"

-- Log lines still queued when the node aborts are lost: give the logger a moment first.
local function fatal(...)
  skynet.error(...)
  skynet.sleep(10)
  skynet.abort()
end

skynet.start(function()
  -- No launcher exists yet, so it is created directly.
  local launcher = assert(skynet.launch("snlua", "launcher"))
  skynet.name(".launcher", launcher)

  local harbor_id = tonumber(skynet.getenv "harbor") or 0
  if harbor_id ~= 0 then
    fatal(string.format(
      "bootstrap: harbor = %s asks for multi-node harbor mode, which Starling does not support;"
        .. " set harbor = 0 (use cluster for several nodes)",
      harbor_id))
    return
  end

  assert(skynet.getenv "standalone" == nil, "standalone must not be set when harbor = 0")
  skynet.setenv("standalone", "true")

  local ok, slave = pcall(skynet.newservice, "cdummy")
  if not ok or not slave then
    fatal("bootstrap: cdummy failed to start:", slave)
    return
  end
  skynet.name(".cslave", slave)

  local datacenter = skynet.newservice "datacenterd"
  skynet.name("DATACENTER", datacenter)
  skynet.newservice "service_mgr"

  if skynet.getenv "enablessl" == "true" then
    skynet.error("bootstrap: enablessl is not supported by Starling; no TLS holder started")
  end

  -- A failing start service leaves the node up with only the system services.
  pcall(skynet.newservice, skynet.getenv "start" or "main")
  skynet.exit()
end)
