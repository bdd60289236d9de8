-- tracesvc: the peer of the trace case (tests/lua/cases/trace.lua).
-- skynet.call(h, "lua", <command>, ...); every command replies.

local skynet = require "skynet"

local CMD = {}
local held = {}

-- Starts a trace in this request's coroutine (the TRACE and trace lines), replies the tag.
function CMD.trace(info)
  skynet.trace(info)
  skynet.retpack(skynet.tracetag())
end

function CMD.tag()
  skynet.retpack(skynet.tracetag())
end

-- Logs `text`: once it is in the log, so is every line this service logged before.
function CMD.mark(text)
  skynet.error(text)
  skynet.ret()
end

-- skynet.trace, then a call to `peer` (which replies its own tag), then a sleep.
function CMD.call(peer, ...)
  skynet.trace()
  local theirs = skynet.call(peer, "lua", ...)
  skynet.sleep(1)
  skynet.retpack(skynet.tracetag(), theirs)
end

-- The call of a request that came with a tag: no skynet.trace here.
function CMD.relay(peer, ...)
  skynet.retpack(skynet.tracetag(), skynet.call(peer, "lua", ...))
end

function CMD.raise()
  skynet.trace()
  error("traced failure")
end

-- Waits until "release": the sleep and resume lines of a wakeup.
function CMD.hold()
  skynet.trace()
  held.co = coroutine.running()
  skynet.wait(held.co)
  skynet.retpack(skynet.tracetag())
end
function CMD.release()
  skynet.retpack(skynet.wakeup(held.co))
end

-- A fork of a traced coroutine carries no tag.
function CMD.fork_tag()
  skynet.trace()
  local done = {}
  skynet.fork(function()
    done.tag = skynet.tracetag()
    skynet.wakeup(done)
  end)
  skynet.wait(done)
  skynet.retpack(skynet.tracetag(), done.tag)
end

function CMD.traceproto(name, flag)
  skynet.traceproto(name, flag)
  skynet.retpack(true)
end

-- skynet.trace twice in one coroutine: a new tag each time, the line shows the old one.
function CMD.retrace()
  skynet.trace "one"
  local first = skynet.tracetag()
  skynet.trace "two"
  skynet.retpack(first, skynet.tracetag())
end

-- A protocol registered with trace = true: every request starts a trace.
skynet.register_protocol {
  name = "traced",
  id = 200,
  pack = skynet.pack,
  unpack = skynet.unpack,
  trace = true,
  dispatch = function()
    skynet.retpack(skynet.tracetag())
  end,
}

skynet.dispatch("lua", function(_, _, cmd, ...)
  local f = assert(CMD[cmd], cmd)
  f(...)
end)

skynet.start(function() end)
