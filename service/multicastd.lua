-- The multicast service (docs/LIBRARIES.md "multicast"): channel ids, subscribers, and the fan
-- out of each published package to the local subscribers.
--
-- Channels of this node only. The low 8 bits of an id name the owning harbor node; when
-- harbor mode lands, ids of other nodes go to their owner's multicastd (SUBR / USUBR / DELR
-- and PTYPE_MULTICAST forwarding, with mc.remote and mc.packremote): `remote_channel` below is
-- that seam, today it drops the request.
local skynet = require "skynet"
local mc = require "skynet.multicast.core"

local harbor_id = skynet.harbor(skynet.self())
local next_id = harbor_id
local channels = {} -- id -> { [subscriber] = true }
local counts = {}   -- id -> number of subscribers

local function remote_channel(c)
  return (c & 0xff) ~= harbor_id
end

local command = {}

function command.NEW()
  while channels[next_id] do next_id = mc.nextid(next_id) end
  local id = next_id
  channels[id] = {}
  counts[id] = 0
  next_id = mc.nextid(next_id)
  return id
end

function command.SUB(source, c)
  local group = channels[c]
  if group == nil or remote_channel(c) then return end
  if not group[source] then
    group[source] = true
    counts[c] = counts[c] + 1
  end
end

function command.USUB(source, c)
  local group = assert(channels[c])
  if group[source] then
    group[source] = nil
    counts[c] = counts[c] - 1
  end
end

function command.DEL(_, c)
  channels[c] = nil
  counts[c] = nil
end

function command.PUB(source, c, holder, size)
  local group = channels[c]
  local n = counts[c]
  if group == nil or n == 0 then
    mc.close(mc.bind(holder, 1)) -- nobody to deliver to
    return
  end
  local msg = skynet.tostring(holder, size) -- the package address, copied for each delivery
  mc.bind(holder, n)
  for subscriber in pairs(group) do
    skynet.redirect(subscriber, source, "multicast", c, msg)
  end
end

local oneway = { USUB = true, DEL = true }

skynet.register_protocol {
  name = "multicast",
  id = skynet.PTYPE_MULTICAST,
}

skynet.start(function()
  skynet.dispatch("lua", function(_, source, cmd, ...)
    local f = assert(command[cmd], cmd)
    if oneway[cmd] then
      f(source, ...)
    else
      skynet.ret(skynet.pack(f(source, ...)))
    end
  end)
end)
