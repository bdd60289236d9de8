-- The soak's watchdog: owns a gate and gives every connection a soak_agent; drops both when the
-- connection goes. "count" answers the connections open and the events seen.
local skynet = require "skynet"

local gate
local agents = {} -- fd -> agent (false while it is being made)
local open = 0
local events = { connections = 0, closed = 0, errors = 0, warnings = 0 }

local function drop(fd)
  if agents[fd] == nil then
    return
  end
  local agent = agents[fd]
  agents[fd] = nil
  open = open - 1
  skynet.call(gate, "lua", "kick", fd)
  if agent then
    skynet.send(agent, "lua", "disconnect")
  end
end

local SOCKET = {}

function SOCKET.open(fd)
  events.connections = events.connections + 1
  open = open + 1
  agents[fd] = false
  local agent = skynet.newservice "soak_agent"
  if agents[fd] == nil then -- gone while the agent started
    skynet.send(agent, "lua", "disconnect")
    return
  end
  agents[fd] = agent
  skynet.call(agent, "lua", "start", gate, fd)
end

function SOCKET.close(fd)
  events.closed = events.closed + 1
  drop(fd)
end

function SOCKET.error(fd)
  events.errors = events.errors + 1
  drop(fd)
end

function SOCKET.warning()
  events.warnings = events.warnings + 1
end

function SOCKET.data() end

local CMD = {}

function CMD.start(conf)
  return skynet.call(gate, "lua", "open", conf)
end

function CMD.count()
  return open, events
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, subcmd, ...)
    if cmd == "socket" then
      SOCKET[subcmd](...)
    else
      skynet.retpack(CMD[cmd](subcmd, ...))
    end
  end)
  gate = skynet.newservice "gate"
end)
