-- skynet.snax (docs/LUA_SERVICES.md): the client side of snax services. Method ids come from
-- parsing the service's snax file here too (snax.interface); requests are
-- skynet.pack(id, args...) over the snax protocol.
local skynet = require "skynet"
local parse = require "snax.interface"

skynet.register_protocol {
  name = "snax",
  id = skynet.PTYPE_SNAX,
  pack = skynet.pack,
  unpack = skynet.unpack,
}

local snax = {}
local interfaces = {}                                -- name -> parsed interface
local objects = setmetatable({}, { __mode = "v" })  -- handle -> bound object

-- The global table a client parses a snax file with: the standard library is not visible.
local function client_globals()
  local module = skynet.getenv "snax_interface_g"
  if module then
    return require(module)
  end
  return { require = function() end }
end

function snax.interface(name)
  local t = interfaces[name]
  if t then
    return t
  end
  local methods = parse(name, client_globals())
  t = { name = name, accept = {}, response = {}, system = {} }
  for _, m in ipairs(methods) do
    t[m[2]][m[3]] = m[1]
  end
  interfaces[name] = t
  return t
end

-- obj.post.<m> / obj.req.<m>: functions made on first use of each name.
local function proxy(ids, what, typename, make)
  return setmetatable({}, {
    __index = function(p, method)
      local id = ids[method]
      if id == nil then
        error(string.format("%s %s:%s no exist", what, typename, tostring(method)), 2)
      end
      local f = make(id)
      rawset(p, method, f)
      return f
    end,
  })
end

local object_meta = {
  __tostring = function(obj)
    return string.format("[%s:%x]", obj.type, obj.handle)
  end,
}

function snax.bind(handle, typename)
  local obj = objects[handle]
  if obj then
    assert(obj.type == typename, "handle bound to another snax type")
    return obj
  end
  local t = snax.interface(typename)
  obj = setmetatable({
    handle = handle,
    type = typename,
    post = proxy(t.accept, "post", typename, function(id)
      return function(...)
        skynet.send(handle, "snax", id, ...)
      end
    end),
    req = proxy(t.response, "request", typename, function(id)
      return function(...)
        return skynet.call(handle, "snax", id, ...)
      end
    end),
  }, object_meta)
  objects[handle] = obj
  return obj
end

function snax.rawnewservice(name, ...)
  local t = snax.interface(name)
  local handle = skynet.newservice("snaxd", name)
  skynet.call(handle, "snax", t.system.init, ...)
  return handle
end

function snax.newservice(name, ...)
  return snax.bind(snax.rawnewservice(name, ...), name)
end

-- service_mgr replies (handle) or (nil, error).
local function service_mgr(cmd, name, ...)
  snax.interface(name)
  local handle, err = skynet.call(".service", "lua", cmd, "snaxd", name, ...)
  if handle == nil then
    error(err, 0)
  end
  return snax.bind(handle, name)
end

function snax.uniqueservice(name, ...)
  return service_mgr("LAUNCH", name, ...)
end

function snax.globalservice(name, ...)
  return service_mgr("GLAUNCH", name, ...)
end

function snax.queryservice(name)
  return service_mgr("QUERY", name)
end

function snax.queryglobal(name)
  return service_mgr("GQUERY", name)
end

function snax.kill(obj, ...)
  local t = snax.interface(obj.type)
  skynet.call(obj.handle, "snax", t.system.exit, ...)
end

function snax.self()
  return snax.bind(skynet.self(), SERVICE_NAME)
end

function snax.exit(...)
  snax.kill(snax.self(), ...)
end

local function hotfix_result(ok, ...)
  if not ok then
    error((...), 0)
  end
  return ...
end

function snax.hotfix(obj, source, ...)
  local t = snax.interface(obj.type)
  return hotfix_result(skynet.call(obj.handle, "snax", t.system.hotfix, source, ...))
end

function snax.profile_info(obj)
  local t = snax.interface(obj.type)
  return skynet.call(obj.handle, "snax", t.system.profile)
end

function snax.printf(fmt, ...)
  skynet.error(string.format(fmt, ...))
end

return snax
