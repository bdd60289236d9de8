-- Gate clients: connect to the soak's gate, send frames, check the echoes, and leave in one of
-- four ways, in turn: cleanly after reading every echo, in the middle of a frame, without
-- reading the echoes, or at once.
local skynet = require "skynet"
local socket = require "skynet.socket"
local soaklib = require "soaklib"

local port

local function payload(n)
  local bytes = {}
  for i = 1, n do
    bytes[i] = math.random(0, 255)
  end
  return string.char(table.unpack(bytes))
end

local function send_frames(id, n)
  local sent = {}
  for i = 1, n do
    sent[i] = payload(math.random(0, 2000))
    socket.write(id, soaklib.frame(sent[i]))
  end
  return sent
end

local LEAVE = {
  function(id) -- cleanly, every echo read and checked
    local sent = send_frames(id, math.random(1, 8))
    for i = 1, #sent do
      local echo = soaklib.read_frame(id)
      if echo == sent[i] then
        soaklib.add("echoed")
      else
        soaklib.add("echo_wrong")
      end
    end
  end,
  function(id) -- in the middle of a frame
    send_frames(id, 1)
    soaklib.read_frame(id)
    socket.write(id, string.pack(">I2", 1000) .. payload(10))
    soaklib.add("dropped_mid_frame")
  end,
  function(id) -- never reading the echoes
    send_frames(id, 16)
    soaklib.add("dropped_unread")
  end,
  function() -- at once
    soaklib.add("dropped_at_once")
  end,
}

soaklib.serve(function(gate_port, loops)
  port = gate_port
  math.randomseed(skynet.self())
  soaklib.workers(loops, function()
    local id = soaklib.connect(port)
    if id then
      LEAVE[math.random(#LEAVE)](id)
      socket.close(id)
    end
  end)
end)
