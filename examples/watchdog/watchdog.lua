-- watchdog: owns a gate, gives each new connection an agent and cleans up when it goes.
local skynet = require "skynet"

local gate
local agents = {} -- fd -> agent (false while the agent is being made)

local function drop(fd)
  local agent = agents[fd]
  agents[fd] = nil
  skynet.call(gate, "lua", "kick", fd) -- frees the socket; harmless if the gate closed it
  if agent then
    skynet.send(agent, "lua", "disconnect")
  end
end

-- Socket events from the gate (sent, never answered).
local SOCKET = {}

function SOCKET.open(fd, addr)
  skynet.error("New client from " .. addr .. " fd " .. fd)
  agents[fd] = false
  local agent = skynet.newservice "agent"
  if agents[fd] == nil then -- the client left while the agent started
    skynet.send(agent, "lua", "disconnect")
    return
  end
  agents[fd] = agent
  skynet.call(agent, "lua", "start", { gate = gate, client = fd })
end

function SOCKET.close(fd)
  skynet.error("Client closed, fd " .. fd)
  drop(fd)
end

function SOCKET.error(fd, msg)
  skynet.error("Client error, fd " .. fd .. ": " .. msg)
  drop(fd)
end

function SOCKET.warning(fd, kib)
  skynet.error("Client fd " .. fd .. " has " .. kib .. " KiB waiting to be sent")
end

function SOCKET.data(fd, msg)
  skynet.error("Data from fd " .. fd .. " before any agent: " .. #msg .. " bytes")
end

local CMD = {}

function CMD.start(conf)
  return skynet.call(gate, "lua", "open", conf)
end

function CMD.close(fd)
  drop(fd)
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, subcmd, ...)
    if cmd == "socket" then
      SOCKET[subcmd](...)
    else
      skynet.ret(skynet.pack(CMD[cmd](subcmd, ...)))
    end
  end)
  gate = skynet.newservice "gate"
end)
