-- skynet.sharetable (docs/LIBRARIES.md "sharetable"): tables loaded once by the sharetable
-- service and read by every service without a copy. Each version is an immutable structure
-- shared by the whole process; a service reads it through read-only proxy tables
-- (skynet.sharetable.core).
local skynet = require "skynet"
local service = require "skynet.service"
local core = require "skynet.sharetable.core"

-- The service, started on first use. Its main function travels as bytecode: no upvalues.
local function sharetable_service()
  local skynet = require "skynet"
  local core = require "skynet.sharetable.core"

  local files = {}    -- name -> the current version's ptr
  local versions = {} -- ptr -> { name, box, holders = { [address] = true } }
  local clients = {}  -- address -> { [ptr] = true }

  local function drop(ptr)
    local v = versions[ptr]
    versions[ptr] = nil
    skynet.error(string.format("Delete a version (%s) of %s", tostring(ptr), v.name))
    v.box:close()
  end

  local function publish(name, box)
    local ptr = box:getptr()
    versions[ptr] = { name = name, box = box, holders = {} }
    local old = files[name]
    files[name] = ptr
    if old and next(versions[old].holders) == nil then
      local v = versions[old]
      versions[old] = nil
      v.box:close() -- nobody ever held it
    end
  end

  local function hold(source, ptr)
    versions[ptr].holders[source] = true
    local held = clients[source]
    if not held then
      held = {}
      clients[source] = held
    end
    held[ptr] = true
  end

  local matrix = core.matrix
  local CMD = {}

  function CMD.loadfile(_, filename, ...)
    publish(filename, matrix("@" .. filename, ...))
  end

  function CMD.loadstring(_, name, source, ...)
    publish(name, matrix(source, ...))
  end

  function CMD.loadtable(_, name, msg, sz)
    local ok, t = pcall(skynet.unpack, msg, sz)
    skynet.trash(msg, sz)
    assert(ok, t)
    publish(name, matrix(t))
  end

  function CMD.query(source, name)
    local ptr = files[name]
    if ptr then hold(source, ptr) end
    return ptr
  end

  function CMD.queryall(source, list)
    local ret = {}
    if list then
      for _, name in ipairs(list) do ret[name] = CMD.query(source, name) end
    else
      for name in pairs(files) do ret[name] = CMD.query(source, name) end
    end
    return ret
  end

  function CMD.close(source)
    local held = clients[source]
    clients[source] = nil
    for ptr in pairs(held or {}) do
      local v = versions[ptr]
      v.holders[source] = nil
      if files[v.name] ~= ptr and next(v.holders) == nil then drop(ptr) end
    end
  end

  skynet.info_func(function()
    local info = {}
    for name, current in pairs(files) do
      local history = {}
      for ptr, v in pairs(versions) do
        if v.name == name then
          local holders = {}
          for address in pairs(v.holders) do holders[#holders + 1] = skynet.address(address) end
          table.sort(holders)
          history[#history + 1] = string.format("%s [%d]: (%s)", tostring(ptr), v.box:size(),
            table.concat(holders, " "))
        end
      end
      info[name] = { current = current, size = versions[current].box:size(),
                     history = table.concat(history, "\n\t") }
    end
    return info
  end)

  skynet.dispatch("lua", function(session, source, cmd, ...)
    local f = assert(CMD[cmd], cmd)
    if cmd == "close" then
      f(source, ...)
    elseif session ~= 0 then
      skynet.ret(skynet.pack(f(source, ...)))
    else
      f(source, ...)
    end
  end)
end

local address
local function sharetable_address()
  if not address then address = service.new("sharetable", sharetable_service) end
  return address
end

-- A shared table is a proxy here (docs/LIBRARIES.md, "sharetable"): the service's next walks
-- it too, as next does skynet's shared tables.
next = core.next

local sharetable = {}
local held = {}    -- name -> { [ptr] = true }: versions this service got

-- Tells the service when this one is gone (its module table collected at exit).
local closer = setmetatable({}, {
  __gc = function()
    if address then skynet.send(address, "lua", "close") end
  end,
})
sharetable.__closer = closer

function sharetable.loadfile(filename, ...)
  skynet.call(sharetable_address(), "lua", "loadfile", filename, ...)
end

function sharetable.loadstring(name, source, ...)
  skynet.call(sharetable_address(), "lua", "loadstring", name, source, ...)
end

function sharetable.loadtable(name, tbl)
  assert(type(tbl) == "table")
  skynet.call(sharetable_address(), "lua", "loadtable", name, skynet.pack(tbl))
end

local function got(name, ptr)
  local versions = held[name]
  if not versions then
    versions = {}
    held[name] = versions
  end
  versions[ptr] = true
  return core.clone(ptr)
end

function sharetable.query(name)
  local ptr = skynet.call(sharetable_address(), "lua", "query", name)
  if ptr then return got(name, ptr) end
end

function sharetable.queryall(list)
  local ptrs = skynet.call(sharetable_address(), "lua", "queryall", list)
  local ret = {}
  for name, ptr in pairs(ptrs) do ret[name] = got(name, ptr) end
  return ret
end

-- Switches every table of the named versions this service holds to the newest version.
function sharetable.update(...)
  for i = 1, select("#", ...) do
    local name = select(i, ...)
    local versions = held[name]
    if versions then
      local ptr = skynet.call(sharetable_address(), "lua", "query", name)
      if ptr then
        versions[ptr] = true
        for old in pairs(versions) do
          if old ~= ptr then core.update(old, ptr) end
        end
      end
    end
  end
end

return sharetable
