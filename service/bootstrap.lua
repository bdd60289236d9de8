-- First Lua service of a node (docs/LUA_SERVICES.md): starts the launcher and the system
-- services in a fixed order (so handles 3..7 are always the same), then the start service.
local skynet = require "skynet"
local deadline = require "skynet.deadline"
local shutdown = require "skynet.shutdown"
require "skynet.manager"

-- skynet.newservice without config `call_timeout`: a start function may take as long as it
-- needs (the test cases run inside theirs).
local function newservice(name)
  return deadline.call(false, ".launcher", "lua", "LAUNCH", "snlua", name)
end

-- skynet idles on after a failed boot, with nothing running; here the node stops and the
-- process exits 1 with the reason on stderr, so a supervisor sees it.
local function fatal(reason)
  skynet.error(reason)
  shutdown.request(reason, 1)
end

local function boot()
  -- No launcher exists yet, so it is created directly.
  local launcher = assert(skynet.launch("snlua", "launcher"), "cannot launch the launcher")
  skynet.name(".launcher", launcher)

  local harbor_id = tonumber(skynet.getenv "harbor") or 0
  if harbor_id ~= 0 then
    fatal(string.format(
      "bootstrap: harbor = %s asks for multi-node harbor mode, which Starling does not support;"
        .. " set harbor = 0 (use cluster for several nodes)",
      harbor_id))
    return
  end

  if skynet.getenv "standalone" ~= nil then
    fatal "bootstrap: standalone must not be set when harbor = 0"
    return
  end
  skynet.setenv("standalone", "true")

  local ok, slave = pcall(newservice, "cdummy")
  if not ok or not slave then
    fatal("bootstrap: cdummy failed to start: " .. tostring(slave))
    return
  end
  skynet.name(".cslave", slave)

  local datacenter = newservice "datacenterd"
  skynet.name("DATACENTER", datacenter)
  newservice "service_mgr"

  if skynet.getenv "enablessl" == "true" then
    skynet.error("bootstrap: enablessl is not supported by Starling; no TLS holder started")
  end

  local start = skynet.getenv "start" or "main"
  if not pcall(newservice, start) then
    fatal(string.format("bootstrap: start service %s failed (its error is in the log above)", start))
    return
  end
  skynet.exit()
end

skynet.start(function()
  local ok, err = pcall(boot)
  if not ok then
    fatal("bootstrap: " .. tostring(err))
  end
end)
