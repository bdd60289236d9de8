-- The soak's agent for one gate connection. Frames are echoed, except two commands:
--   "slow"                 from then on each frame is answered with its length (4 bytes) only,
--                          after half a millisecond of work: the agent reads slower than the
--                          client writes, so the gate's backpressure has to hold the client back
--   "blast <addr> <token>" writes 64000-byte frames to a client that does not read until the
--                          write limit refuses one, then sends "blasted", token, writes to addr
local skynet = require "skynet"
local socket = require "skynet.socket"

local fd
local slow = false

-- About half a millisecond of CPU (a sleep would not do: the next frame runs meanwhile).
local function burn()
  local x = 0
  for i = 1, 50000 do
    x = x + i
  end
  return x
end

local function blast(addr, token)
  local frame = string.pack(">s2", string.rep("b", 64000))
  local writes = 0
  -- 64 MiB at most: the limit (4 MiB in the soak config) must refuse long before.
  while writes < 1024 and socket.write(fd, frame) do
    writes = writes + 1
  end
  skynet.send(tonumber(addr), "lua", "blasted", tonumber(token), writes)
end

skynet.register_protocol {
  name = "client",
  id = skynet.PTYPE_CLIENT,
  unpack = skynet.tostring,
  dispatch = function(_, _, text)
    skynet.ignoreret()
    if slow then
      socket.write(fd, string.pack(">s2", string.pack(">I4", #text)))
      burn()
    elseif text == "slow" then
      slow = true
    elseif text:sub(1, 6) == "blast " then
      blast(text:match "^blast (%d+) (%d+)$")
    else
      socket.write(fd, string.pack(">s2", text))
    end
  end,
}

local CMD = {}

function CMD.start(gate, client)
  fd = client
  skynet.call(gate, "lua", "forward", fd)
end

function CMD.disconnect()
  skynet.exit()
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, ...)
    skynet.retpack(CMD[cmd](...))
  end)
end)
