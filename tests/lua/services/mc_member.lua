-- mc_member: a multicast member for lua.multicast_harbor. Commands (lua): new() -> channel id;
-- sub(c), unsub(c), pub(c, text), del(c) on its channel objects; got() -> the received
-- messages as "<channel>:<source>:<text>"; fence(node) waits until this node's multicastd and
-- then node's have handled everything this service sent them before.
local skynet = require "skynet"
local multicast = require "skynet.multicast"
local datacenter = require "skynet.datacenter"

local objects = {} -- channel id -> channel object
local got = {}

local function object(c)
  local o = objects[c]
  if o == nil then
    o = multicast.new {
      channel = c,
      dispatch = function(_, source, text)
        got[#got + 1] = string.format("%d:%08x:%s", c, source, text)
      end,
    }
    objects[c] = o
  end
  return o
end

local command = {}

function command.new()
  local o = multicast.new {
    dispatch = function(self, source, text)
      got[#got + 1] = string.format("%d:%08x:%s", self.channel, source, text)
    end,
  }
  objects[o.channel] = o
  return o.channel
end

function command.sub(c) object(c):subscribe() end
function command.unsub(c) object(c):unsubscribe() end
function command.pub(c, text) object(c):publish(text) end
function command.del(c) object(c):delete() end
function command.got() return got end

-- One link carries a node's messages to another in order, so a call that follows them
-- answers after they were handled.
function command.fence(node)
  local self_node = skynet.harbor(skynet.self())
  skynet.call(datacenter.get("multicast", self_node), "lua", "NEW")
  skynet.call(datacenter.get("multicast", node), "lua", "NEW")
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, ...)
    local f = assert(command[cmd], cmd)
    skynet.retpack(f(...))
  end)
end)
