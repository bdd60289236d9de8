-- `.service` (docs/LUA_SERVICES.md): node-unique services for skynet.uniqueservice and
-- queryservice. Each name is launched once; its handle, or its launch error, is kept forever.
local skynet = require "skynet"
require "skynet.manager"

local standalone = skynet.getenv "standalone"

-- key -> handle (number) | launch error (string) | pending record (table):
-- { launching = coroutine running the launch or nil, waiting = { { co, source }, ... } }
local entries = {}

local command = {}
-- On the standalone node: the other nodes' service managers (handle -> true), from REPORT.
local reported_managers = nil

-- Returns the handle for key, raising its cached error. The first caller that brings a launch
-- function runs it; everyone else waits for that launch.
local function resolve(key, launch, ...)
  local entry = entries[key]
  if type(entry) == "number" then
    return entry
  elseif type(entry) == "string" then
    error(entry, 0)
  elseif entry == nil then
    entry = { waiting = {} }
    entries[key] = entry
  end

  if launch and not entry.launching then
    entry.launching = coroutine.running()
    local ok, handle = pcall(launch, ...)
    if ok and handle == nil then
      ok, handle = false, key .. " exited before its start function returned"
    end
    entries[key] = ok and handle or tostring(handle)
    for _, waiter in ipairs(entry.waiting) do
      skynet.wakeup(waiter.co)
    end
    if not ok then
      error(tostring(handle), 0)
    end
    return handle
  end

  local co = coroutine.running()
  local _, source = skynet.context()
  entry.waiting[#entry.waiting + 1] = { co = co, source = source }
  skynet.wait(co)
  return resolve(key)
end

-- Snax services are keyed "snaxd.<name>": they differ from a plain service of that name.
local function key_of(name, ...)
  if name == "snaxd" then
    return "snaxd." .. (...)
  end
  return name
end

local function start_service(name, ...)
  if name == "snaxd" then
    return require("skynet.snax").rawnewservice(...)
  end
  return skynet.newservice(name, ...)
end

function command.LAUNCH(name, ...)
  return resolve(key_of(name, ...), start_service, name, ...)
end

function command.QUERY(name, ...)
  return resolve(key_of(name, ...))
end

-- Node-wide unique services (key "@name"): this node holds them when it is the standalone
-- one; any other node asks the standalone node's service manager, global name SERVICE, the
-- way skynet's does (LAUNCH / QUERY with "@name"), so either runtime can be the standalone
-- node of a harbor network (docs/HARBOR.md).
if standalone then
  function command.GLAUNCH(name, ...)
    return resolve("@" .. key_of(name, ...), start_service, name, ...)
  end

  function command.GQUERY(name, ...)
    return resolve("@" .. key_of(name, ...))
  end

  -- What the other nodes' service managers send.
  local launch, query = command.LAUNCH, command.QUERY
  function command.LAUNCH(name, ...)
    if name:byte(1) == 64 then -- '@'
      return command.GLAUNCH(name:sub(2), ...)
    end
    return launch(name, ...)
  end

  function command.QUERY(name, ...)
    if name:byte(1) == 64 then
      return command.GQUERY(name:sub(2), ...)
    end
    return query(name, ...)
  end

  -- Every other node's service manager reports itself at boot; LIST lists theirs too.
  local managers = {}
  function command.REPORT(manager)
    managers[manager] = true
  end
  reported_managers = managers
else
  local function ask_master(cmd, name, ...)
    local handle, err = skynet.call("SERVICE", "lua", cmd, "@" .. name, ...)
    if handle == nil then
      error(err, 0)
    end
    return handle
  end

  function command.GLAUNCH(name, ...)
    return resolve("@" .. key_of(name, ...), ask_master, "LAUNCH", name, ...)
  end

  function command.GQUERY(name, ...)
    return resolve("@" .. key_of(name, ...), ask_master, "QUERY", name, ...)
  end
end

-- What a pending entry is waiting for: the service being launched (as the launcher knows it
-- from the launch request's session) and who waits.
local function describe(entry)
  local lines = {}
  if entry.launching then
    local session = skynet.task(entry.launching)
    local handle = session and skynet.call(".launcher", "lua", "QUERY", session)
    if handle then
      lines[#lines + 1] = "Launching " .. skynet.address(handle)
    else
      lines[#lines + 1] = "Launching"
    end
  end
  if #entry.waiting > 0 then
    local sources = {}
    for i, waiter in ipairs(entry.waiting) do
      sources[i] = skynet.address(waiter.source)
    end
    lines[#lines + 1] = "Waiting: " .. table.concat(sources, " ")
  end
  return table.concat(lines, "\n")
end

function command.LIST()
  -- describe() yields: take the keys first, entries may change meanwhile.
  local keys = {}
  for key in pairs(entries) do
    keys[#keys + 1] = key
  end
  local list = {}
  for _, key in ipairs(keys) do
    local entry = entries[key]
    if type(entry) == "number" then
      list[key] = skynet.address(entry)
    elseif type(entry) == "string" then
      list[key] = "Error: " .. entry
    elseif entry ~= nil then
      list[key] = describe(entry)
    end
  end
  -- The standalone node adds every reported node's own list, its keys tagged "@<harbor id>".
  for manager in pairs(reported_managers or {}) do
    local ok, remote = pcall(skynet.call, manager, "lua", "LIST")
    if ok and type(remote) == "table" then
      for key, value in pairs(remote) do
        list[key .. "@" .. skynet.harbor(manager)] = value
      end
    end
  end
  return list
end

skynet.dispatch("lua", function(_, _, cmd, ...)
  local f = command[cmd]
  if not f then
    skynet.retpack(nil, "Invalid command " .. tostring(cmd))
    return
  end
  local ok, result = pcall(f, ...)
  if ok then
    skynet.retpack(result)
  else
    skynet.retpack(nil, tostring(result))
  end
end)

skynet.start(function()
  local owner = skynet.localname ".service"
  if owner then
    skynet.error(".service is already register by " .. skynet.address(owner))
    skynet.exit()
  end
  skynet.register ".service"
  if standalone then
    skynet.register "SERVICE"
  elseif (tonumber(skynet.getenv "harbor") or 0) ~= 0 then
    -- As skynet's: a joining node's boot waits until the standalone node's manager answers.
    skynet.call("SERVICE", "lua", "REPORT", skynet.self())
  end
end)
