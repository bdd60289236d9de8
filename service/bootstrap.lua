-- First Lua service of a node (docs/LUA_SERVICES.md): starts the launcher and the system
-- services in a fixed order (so handles 3..7 are always the same), then the start service.
-- With a harbor id other than 0 it boots harbor mode as skynet does (docs/HARBOR.md).
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
  local standalone = skynet.getenv "standalone"
  if harbor_id == 0 then
    if standalone ~= nil then
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
  else
    -- Harbor mode (docs/HARBOR.md): the master on the standalone node, then the slave, whose
    -- start returns once the links of its boot are up.
    if standalone ~= nil then
      if not pcall(newservice, "cmaster") then
        fatal "bootstrap: cmaster failed to start (its error is in the log above)"
        return
      end
    end
    local ok, slave = pcall(newservice, "cslave")
    if not ok or not slave then
      fatal "bootstrap: cslave failed to start (its error is in the log above)"
      return
    end
    skynet.name(".cslave", slave)
  end

  if standalone ~= nil or harbor_id == 0 then
    local datacenter = newservice "datacenterd"
    skynet.name("DATACENTER", datacenter)
  end
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
