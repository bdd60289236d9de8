-- skynet.service (docs/LUA_SERVICES.md): node-unique services defined by a Lua function,
-- booted by the unique service_provider. Handles are cached in the calling service.
local skynet = require "skynet"

local service = {}

local cache = {}   -- name -> handle
local provider

local function get_provider()
  if not provider then
    provider = skynet.uniqueservice "service_provider"
  end
  return provider
end

local function checked(handle, err)
  if not handle then
    error(err, 0)
  end
  return handle
end

-- The function travels as bytecode, so it may not capture anything but its globals.
local function dump(mainfunc)
  assert(type(mainfunc) == "function", "service main must be a function")
  local first = debug.getupvalue(mainfunc, 1)
  assert((first == nil or first == "_ENV") and debug.getupvalue(mainfunc, 2) == nil,
    "service main must have no upvalue but _ENV")
  return string.dump(mainfunc)
end

function service.new(name, mainfunc, ...)
  local handle = cache[name]
  if handle then
    return handle
  end
  local p = get_provider()
  local err
  handle, err = skynet.call(p, "lua", "TEST", name)
  if err then
    error(err, 0)
  end
  if not handle then
    handle = checked(skynet.call(p, "lua", "LAUNCH", name, dump(mainfunc), ...))
  end
  cache[name] = handle
  return handle
end

function service.query(name)
  local handle = cache[name]
  if handle then
    return handle
  end
  handle = checked(skynet.call(get_provider(), "lua", "QUERY", name))
  cache[name] = handle
  return handle
end

function service.close(name)
  cache[name] = nil
  return skynet.call(get_provider(), "lua", "CLOSE", name)
end

return service
