-- skynet.multicast (docs/LIBRARIES.md "multicast"): publish/subscribe channels served by the
-- unique service multicastd. A published message is packed once into a shared package
-- (skynet.multicast.core); every subscriber gets a PTYPE_MULTICAST message whose session is
-- the channel id and whose source is the publisher, and closes the package after dispatch.
local skynet = require "skynet"
local mc = require "skynet.multicast.core"

local multicastd
local multicast = {}
local receivers = setmetatable({}, { __mode = "v" }) -- channel id -> the subscribed object

local chan = {}
local chan_meta = {
  __index = chan,
  __tostring = function(self)
    return string.format("[Multicast:%x]", self.channel or 0)
  end,
}

function chan_meta.__gc(self)
  self:unsubscribe()
end

function multicast.new(conf)
  assert(multicastd, "Init first")
  conf = conf or {}
  local self = {
    channel = conf.channel,
    __pack = conf.pack or skynet.pack,
    __unpack = conf.unpack or skynet.unpack,
    __dispatch = conf.dispatch,
  }
  if self.channel == nil then
    self.channel = skynet.call(multicastd, "lua", "NEW")
  end
  return setmetatable(self, chan_meta)
end

function chan:delete()
  local c = assert(self.channel)
  skynet.send(multicastd, "lua", "DEL", c)
  self.channel = nil
  self.__subscribe = nil
end

function chan:publish(...)
  local c = assert(self.channel)
  skynet.call(multicastd, "lua", "PUB", c, mc.pack(self.__pack(...)))
end

function chan:subscribe()
  local c = assert(self.channel)
  if self.__subscribe then return end
  skynet.call(multicastd, "lua", "SUB", c)
  self.__subscribe = true
  receivers[c] = self
end

function chan:unsubscribe()
  if not self.__subscribe then return end
  local c = self.channel
  self.__subscribe = nil
  if c == nil then return end
  if receivers[c] == self then receivers[c] = nil end
  skynet.send(multicastd, "lua", "USUB", c)
end

-- The session of a multicast message is its channel id: no reply is due.
local function dispatch_subscribe(channel, source, package, msg, sz)
  skynet.ignoreret()
  local self = receivers[channel]
  if not (self and self.__subscribe) then
    mc.close(package)
    return
  end
  local ok, err = pcall(self.__dispatch, self, source, self.__unpack(msg, sz))
  mc.close(package)
  if not ok then error(err, 0) end
end

skynet.init(function()
  multicastd = skynet.uniqueservice "multicastd"
  skynet.register_protocol {
    name = "multicast",
    id = skynet.PTYPE_MULTICAST,
    unpack = mc.unpack,
    dispatch = dispatch_subscribe,
  }
end)

return multicast
