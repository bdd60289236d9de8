-- gate: a gateserver that reports connections to a watchdog and forwards each connection's
-- packets to an agent, or to the watchdog until one is chosen (docs/GATE.md).
--
-- Commands (lua, all answered): open(conf) -> address, port; close(); accept(fd);
-- forward(fd[, client[, address]]); kick(fd). The watchdog (conf.watchdog, or whoever sent
-- open) gets skynet.send(watchdog, "lua", "socket", event, ...) with event "open", "close",
-- "error", "warning" or "data".

local skynet = require "skynet"
local gateserver = require "snax.gateserver"
local netpack = require "skynet.netpack"
local socketdriver = require "skynet.socketdriver"

local watchdog
local connection = {} -- fd -> { fd, addr, agent, client }

skynet.register_protocol {
  name = "client",
  id = skynet.PTYPE_CLIENT,
}

local function report(event, ...)
  skynet.send(watchdog, "lua", "socket", event, ...)
end

local handler = {}

function handler.open(source, conf)
  watchdog = conf.watchdog or source
  return conf.address, conf.port
end

function handler.connect(fd, addr)
  connection[fd] = { fd = fd, addr = addr }
  report("open", fd, addr)
end

function handler.message(fd, msg, sz)
  local c = connection[fd]
  if not c then
    -- An error already dropped the connection; its close is on the way.
    skynet.trash(msg, sz)
  elseif c.agent then
    -- No copy: the agent receives the packet block itself, with session = fd. Source 0
    -- makes the gate the sender.
    skynet.redirect(c.agent, c.client, "client", fd, msg, sz)
  else
    report("data", fd, netpack.tostring(msg, sz))
  end
end

function handler.disconnect(fd)
  connection[fd] = nil
  report("close", fd)
end

function handler.error(fd, msg)
  connection[fd] = nil
  report("error", fd, msg)
end

function handler.warning(fd, size)
  report("warning", fd, size)
end

local CMD = {}

function CMD.forward(source, fd, client, address)
  local c = assert(connection[fd], "gate: unknown fd")
  c.agent = address or source
  c.client = client or 0
  -- Starling's backpressure: a client whose agent falls behind is not read until it catches up
  -- (an agent given by name is not watched).
  socketdriver.sink(fd, math.type(c.agent) == "integer" and c.agent or 0)
  gateserver.openclient(fd)
end

function CMD.accept(_, fd)
  local c = assert(connection[fd], "gate: unknown fd")
  c.agent, c.client = nil, nil
  socketdriver.sink(fd, watchdog)
  gateserver.openclient(fd)
end

function CMD.kick(_, fd)
  gateserver.closeclient(fd)
end

function handler.command(cmd, source, ...)
  local f = assert(CMD[cmd], "gate: unknown command")
  return f(source, ...)
end

gateserver.start(handler)
