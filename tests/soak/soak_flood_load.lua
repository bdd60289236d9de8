-- Floods, each loop in turn:
--   * a burst of 3000 sends to a slow service (the overload warnings at 1025 and 2049 queued
--     messages are expected), then a call that comes back once it worked through them;
--   * a client that writes 4 MiB in 16 KiB frames to an agent that reads slowly: the gate stops
--     reading it (backpressure) and TCP holds the client back; every frame is acknowledged;
--   * a client that asks its agent to write and never reads: the agent's writes pile up until
--     the write limit refuses one and the node closes the connection.
local skynet = require "skynet"
local socket = require "skynet.socket"
local soaklib = require "soaklib"

local MiB = 1024 * 1024
local port, slow
local blasts = {} -- token -> the coroutine waiting for its agent's "blasted"
local next_token = 0

local function burst()
  for _ = 1, 3000 do
    skynet.send(slow, "lua", "work")
  end
  soaklib.add("burst_sends", 3000)
  soaklib.call(6000, slow, "ping")
end

local function backpressure()
  local id = soaklib.connect(port)
  if not id then return end
  socket.write(id, soaklib.frame "slow")
  local frame = soaklib.frame(string.rep("f", 16384))
  local frames = 256
  for _ = 1, frames do
    -- never more than 1 MiB waiting on this side: the node, not this client, must hold it
    while soaklib.unsent(id) > MiB do
      skynet.sleep(1)
    end
    socket.write(id, frame)
  end
  for _ = 1, frames do
    local ack = soaklib.read_frame(id)
    if ack and string.unpack(">I4", ack) == 16384 then
      soaklib.add("flood_frames")
    else
      soaklib.add("flood_wrong")
      break
    end
  end
  socket.close(id)
end

local function blast()
  local id = soaklib.connect(port)
  if not id then return end
  next_token = next_token + 1
  local token = next_token
  blasts[token] = coroutine.running()
  socket.write(id, soaklib.frame(string.format("blast %d %d", skynet.self(), token)))
  skynet.wait()
  socket.close(id)
  soaklib.add("write_limit_closes")
end

local FLOODS = { burst, backpressure, blast }

soaklib.serve(function(gate_port, slow_service)
  port, slow = gate_port, slow_service
  -- one loop per kind of flood, each resting half a second between two rounds
  soaklib.workers(#FLOODS, function(i)
    FLOODS[i]()
    skynet.sleep(50)
  end)
end, {
  blasted = function(token, writes)
    if writes >= 1024 then
      skynet.error("SOAK the write limit never refused the blast")
    end
    skynet.wakeup(assert(blasts[token]))
    blasts[token] = nil
  end,
})
