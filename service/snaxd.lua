-- snaxd (docs/LUA_SERVICES.md): the generic host of a snax service, launched as
-- `snlua snaxd <name>`.
local skynet = require "skynet"
local snax = require "skynet.snax"
local parse = require "snax.interface"
local hotfix = require "snax.hotfix"
local profile = require "skynet.profile"

local name = ...
SERVICE_NAME = name

local loader
local loader_path = skynet.getenv "snax_loader"
if loader_path then
  loader = assert(loadfile(loader_path))()
end

-- The snax file's top level runs here, with this service's globals.
local methods, pattern = parse(name, _ENV, loader)

SERVICE_PATH = pattern:match("^[^?]*") .. name .. "/"
package.path = SERVICE_PATH .. "?.lua;" .. package.path

local initialised = false
local profile_table = {}

-- CPU time of the method, without the time it spent suspended (snax's profile).
local function account(method, ok, ...)
  local spent = profile.stop()
  local entry = profile_table[method]
  if entry == nil then
    entry = { count = 0, time = 0 }
    profile_table[method] = entry
  end
  entry.count = entry.count + 1
  entry.time = entry.time + spent
  if not ok then
    error((...), 0)
  end
  return ...
end

local function run(m, ...)
  profile.start()
  return account(m[3], xpcall(m[4], debug.traceback, ...))
end

-- Replies use ret(pack(...)), not retpack: when packing fails, retpack leaves the caller
-- waiting forever in this host, while an error before ret gives it call failed.
local system = {}

function system.init(f, ...)
  assert(not initialised, "Already init")
  if f then
    f(...)
  end
  skynet.ret()
  skynet.info_func(function()
    return profile_table
  end)
  initialised = true
end

function system.exit(f, ...)
  assert(initialised, "Never init")
  if f then
    f(...)
  end
  skynet.ret()
  initialised = false
  skynet.exit()
end

function system.hotfix(_, ...)
  skynet.ret(skynet.pack(pcall(hotfix, methods, _ENV, ...)))
end

function system.profile()
  skynet.ret(skynet.pack(profile_table))
end

local function dispatch(_, _, id, ...)
  local m = methods[id]
  if m == nil then
    error("snax " .. name .. ": unknown method id " .. tostring(id))
  end
  local group = m[2]
  if group == "system" then
    system[m[3]](m[4], ...)
  elseif group == "accept" then
    assert(initialised, "Init first")
    run(m, ...)
  else
    assert(initialised, "Init first")
    skynet.ret(skynet.pack(run(m, ...)))
  end
end

skynet.start(function()
  skynet.dispatch("snax", dispatch)
  -- cluster delivers requests to a snax service as lua messages with the same payload
  function snax.enablecluster()
    skynet.dispatch("lua", dispatch)
  end
end)
