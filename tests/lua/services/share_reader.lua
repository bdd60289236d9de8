-- A reader of shared data in a service of its own, for the sharedata, sharetable and
-- datasheet cases: each command reads something and replies what it saw (ok, value | err).
local skynet = require "skynet"

local held = {} -- name -> a value kept across commands

local CMD = {}

-- Follows keys from a root, raising as the access raises.
local function walk(t, ...)
  for i = 1, select("#", ...) do t = t[(select(i, ...))] end
  return t
end

function CMD.sd_get(name, ...)
  local sharedata = require "skynet.sharedata"
  return walk(sharedata.query(name), ...)
end

function CMD.sd_hold(slot, name, ...)
  local sharedata = require "skynet.sharedata"
  held[slot] = walk(sharedata.query(name), ...)
end

function CMD.held(slot, ...)
  return walk(held[slot], ...)
end

function CMD.held_len(slot)
  return #held[slot]
end

function CMD.st_hold(slot, name)
  local sharetable = require "skynet.sharetable"
  held[slot] = sharetable.query(name)
end

function CMD.st_update(...)
  local sharetable = require "skynet.sharetable"
  sharetable.update(...)
end

function CMD.ds_hold(slot, name, ...)
  local datasheet = require "skynet.datasheet"
  held[slot] = walk(datasheet.query(name), ...)
end

function CMD.ds_query(name)
  local datasheet = require "skynet.datasheet"
  datasheet.query(name)
end

function CMD.copy(slot)
  local function copy(t)
    if type(t) ~= "table" then return t end
    local r = {}
    for k, v in pairs(t) do r[k] = copy(v) end
    return r
  end
  return copy(held[slot])
end

-- Visits every entry below a held value without copying; the number of entries.
function CMD.walk(slot)
  local function walk(t)
    local n = 0
    for _, v in pairs(t) do
      n = n + 1
      if type(v) == "table" then n = n + walk(v) end
    end
    return n
  end
  return walk(held[slot])
end

-- The Lua heap after full collections, in bytes (the second one takes what finalizers of
-- the first one dropped).
function CMD.collected()
  collectgarbage()
  collectgarbage()
  return math.floor(collectgarbage "count" * 1024)
end

function CMD.exit()
  skynet.exit()
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, ...)
    local f = assert(CMD[cmd], cmd)
    skynet.retpack(pcall(f, ...))
  end)
end)
