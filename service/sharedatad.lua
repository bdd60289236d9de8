-- The sharedata service (docs/LIBRARIES.md "sharedata"): builds the objects, answers queries
-- with their addresses, tells monitoring services about new versions and frees old versions
-- once no service holds them.
local skynet = require "skynet"
local core = require "skynet.sharedata.core"
local codecache = require "skynet.codecache"

codecache.mode "OFF" -- "@file" sources are read again on every update

local COLLECT_INTERVAL = 6000 -- ticks between sweeps of old versions

local pool = {}     -- name -> current object
local known = {}    -- object -> name, every object not yet freed
local monitors = {} -- name -> { response, ... } waiting for the next version

local function build(name, v, ...)
  local data
  if type(v) == "table" then
    data = v
  elseif type(v) == "string" then
    local env = setmetatable({}, { __index = _ENV })
    local f
    if v:sub(1, 1) == "@" then
      f = assert(loadfile(v:sub(2), "t", env))
    else
      f = assert(load(v, "=" .. name, "t", env))
    end
    local ok, ret = pcall(f, ...)
    if not ok then error(ret, 0) end
    setmetatable(env, nil)
    data = type(ret) == "table" and ret or env
  elseif v == nil then
    data = {}
  else
    error("Unknown data type " .. type(v))
  end
  local obj = core.new(data)
  known[obj] = name
  return obj
end

-- Answers the parked monitors of `name` with `obj` (nil: the name is gone).
local function wake(name, obj)
  local waiting = monitors[name]
  if not waiting then return end
  monitors[name] = nil
  for _, response in ipairs(waiting) do
    if obj then
      core.incref(obj) -- the monitor's reply carries a count; its confirm gives it back
      if not response(true, obj) then core.decref(obj) end
    else
      response(true)
    end
  end
end

-- Frees old versions nobody holds any more.
local function collect()
  for obj in pairs(known) do
    if core.isdirty(obj) and core.getref(obj) <= 0 then
      known[obj] = nil
      core.delete(obj)
    end
  end
end

local CMD = {}

function CMD.new(name, v, ...)
  assert(pool[name] == nil)
  local obj = build(name, v, ...)
  core.incref(obj) -- the name's count
  pool[name] = obj
end

function CMD.update(name, v, ...)
  local obj = build(name, v, ...)
  core.incref(obj)
  local old = pool[name]
  pool[name] = obj
  if old then
    core.markdirty(old)
    core.decref(old)
  end
  wake(name, obj)
end

function CMD.delete(name)
  local old = pool[name]
  assert(old)
  pool[name] = nil
  core.markdirty(old)
  core.decref(old)
  wake(name, nil)
end

function CMD.query(name)
  local obj = pool[name]
  if not obj then error(name) end
  core.incref(obj)
  return obj
end

function CMD.confirm(obj)
  if known[obj] then core.decref(obj) end
  return false
end

function CMD.monitor(name, obj)
  local current = pool[name]
  if current == nil then return nil end
  if current ~= obj then
    core.incref(current)
    return current
  end
  local waiting = monitors[name]
  if not waiting then
    waiting = {}
    monitors[name] = waiting
  end
  waiting[#waiting + 1] = skynet.response()
  return false
end

-- At exit every object goes back; one still boxed in a service lives until that box goes.
setmetatable(known, {
  __gc = function(objects)
    for _, obj in pairs(pool) do core.decref(obj) end -- the names' counts
    for obj in pairs(objects) do core.delete(obj) end
  end,
})

skynet.start(function()
  skynet.fork(function()
    while true do
      skynet.sleep(COLLECT_INTERVAL)
      collect()
    end
  end)
  skynet.dispatch("lua", function(session, _, cmd, ...)
    local f = assert(CMD[cmd], cmd)
    if cmd == "confirm" then
      f(...)
      return
    end
    local r = table.pack(f(...))
    if r[1] == false and cmd == "monitor" then return end -- parked
    if session ~= 0 then skynet.ret(skynet.pack(table.unpack(r, 1, r.n))) end
  end)
end)
