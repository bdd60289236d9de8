-- A multicast subscriber for the multicast case: records what it receives.
local skynet = require "skynet"
local mc = require "skynet.multicast"

local got = {}
local channels = {}

local CMD = {}

function CMD.sub(id, failing)
  local c = mc.new {
    channel = id,
    dispatch = function(channel, source, ...)
      got[#got + 1] = { channel = channel.channel, source = source, args = table.pack(...) }
      if failing then error("dispatch failed on purpose") end
    end,
  }
  c:subscribe()
  channels[id] = c
end

function CMD.unsub(id)
  channels[id]:unsubscribe()
end

function CMD.publish(id, ...)
  local c = channels[id] or mc.new { channel = id }
  c:publish(...)
end

function CMD.got()
  return got
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, ...)
    if cmd == "exit" then skynet.exit() end
    skynet.retpack(CMD[cmd](...))
  end)
end)
