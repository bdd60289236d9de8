-- skynet.manager (docs/LUA_SERVICES.md): service management functions added to the
-- `skynet` table itself, so `require "skynet.manager"` returns that same table.
local skynet = require "skynet"
local core = require "skynet.core"

function skynet.launch(...)
  -- addresscommand turns the ":XXXXXXXX" answer into an integer handle; a failed launch
  -- answers nothing, returned as one nil.
  local handle = core.addresscommand("LAUNCH", table.concat({ ... }, " "))
  return handle
end

function skynet.kill(addr)
  local handle = addr
  if type(addr) == "string" and addr:sub(1, 1) == ":" then
    handle = tonumber(addr:sub(2), 16)
  end
  if type(handle) == "number" then
    -- The launcher must fail a newservice still waiting for this service (killed, not exited).
    skynet.send(".launcher", "lua", "REMOVE", handle, true)
    addr = skynet.address(handle)
  end
  core.command("KILL", addr)
end

function skynet.abort()
  core.command("ABORT")
end

local function register_global(name, handle)
  assert(#name < 16, "global name must be shorter than 16 bytes")
  assert(tonumber(name) == nil, "global name must not be a number")
  assert(name:sub(1, 1) ~= ":", "global name must not start with ':'")
  require("skynet.harbor").globalname(name, handle)
end

function skynet.register(name)
  if name:sub(1, 1) == "." then
    core.command("REG", name)
  else
    register_global(name, skynet.self())
  end
end

function skynet.name(name, handle)
  if name:sub(1, 1) == "." then
    core.command("NAME", name .. " " .. skynet.address(handle))
  else
    register_global(name, handle)
  end
end

-- The start function runs as skynet.start would run it: after the messages already queued.
local function start_later(start_func)
  skynet.timeout(0, function()
    skynet.init_service(start_func)
  end)
end

function skynet.forward_type(map, start_func)
  core.callback(function(ptype, msg, sz, ...)
    local mapped = map[ptype]
    if mapped then
      -- Forward mode: the handler now owns msg and passes it on or frees it.
      skynet.dispatch_message(mapped, msg, sz, ...)
      return
    end
    -- The runtime keeps every message of a forward-mode callback, so unmapped ones are freed
    -- here, even when their handler raises.
    local ok, err = pcall(skynet.dispatch_message, ptype, msg, sz, ...)
    if msg ~= nil then
      core.trash(msg, sz)
    end
    if not ok then
      error(err, 0)
    end
  end, true)
  start_later(start_func)
end

function skynet.filter(f, start_func)
  core.callback(function(...)
    skynet.dispatch_message(f(...))
  end)
  start_later(start_func)
end

function skynet.monitor(service, query)
  local monitor
  if query then
    monitor = skynet.queryservice(true, service)
  else
    monitor = skynet.uniqueservice(true, service)
  end
  assert(monitor, "monitor service unavailable")
  core.command("MONITOR", skynet.address(monitor))
  return monitor
end

return skynet
