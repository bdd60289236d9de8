-- The socket server's memory bounds seen from Lua (docs/NET.md, "Limits"): the write limit
-- (socket.write returns false, the socket closes, a line says why) and backpressure through
-- the gate (a client flooding a held agent is not read until the agent catches up).
--! socket_write_limit = 2 * 1024 * 1024
--! socket_pause_mqlen = 16
local skynet = require "skynet"
local socket = require "skynet.socket"
local T = require "testlib"

local LIMIT = 2 * 1024 * 1024

local function netstat(id)
  for _, s in ipairs(socket.netstat()) do
    if s.id == id then return s end
  end
end

T.test("a client that never reads: writes are refused at the limit, the socket closed", function()
  local listener, _, port = socket.listen("127.0.0.1", 0)
  local accepted
  socket.start(listener, function(id) accepted = id end)
  local client = assert(socket.open("127.0.0.1", port))
  socket.pause(client) -- never read: the kernel's buffers fill, then the write queue
  T.eventually(function() return accepted end, nil, "the ACCEPT")
  T.eq(socket.start(accepted), accepted)
  local from = T.mark()
  local chunk = string.rep("w", 64 * 1024)
  local sent = 0
  while socket.write(accepted, chunk) do
    sent = sent + #chunk
    if sent > 64 * LIMIT then T.fail("no write was refused") end
  end
  T.ok(sent > LIMIT - #chunk, "the queue took up to the limit: " .. sent)
  T.eq(socket.write(accepted, "x"), false, "later writes are refused too")
  T.log("^%[:00000000%] socket%-server: close socket " .. accepted
    .. " %(127%.0%.0%.1:%d+%): %d+ bytes to send would pass socket_write_limit %(" .. LIMIT .. "%)$", from)
  T.log(T.line(skynet.self(), "socket: error on " .. accepted .. " write buffer over socket_write_limit"), from)
  T.log("^%[" .. T.hex(skynet.self()) .. "%] WARNING: %d+ K bytes need to send out %(fd = "
    .. accepted .. "%)$", from) -- the warnings are kept
  T.eq(netstat(accepted), nil, "closed")
  socket.close(client)
  socket.close(listener)
end)

local opened = {} -- fds the gate reported, in order

skynet.dispatch("lua", function(_, _, cmd, event, fd)
  if cmd == "socket" and event == "open" then opened[#opened + 1] = fd end
end)

T.test("a client flooding a held agent through the gate is paused, then loses nothing", function()
  local gate = skynet.newservice "gate"
  local _, port = skynet.call(gate, "lua", "open", { address = "127.0.0.1", port = 0 })
  local release = T.getenv "test_tmp" .. "/agent.release"
  local agent = skynet.newservice("slowagent", release)
  local client = assert(socket.open("127.0.0.1", port))
  T.eventually(function() return #opened == 1 end, nil, "the gate's open")
  local fd = opened[1]
  skynet.call(gate, "lua", "forward", fd, 0, agent)

  -- 64 KiB packets (the most netpack frames), written only while our own queue is short:
  -- a client that TCP flow control slows down.
  local FRAMES, SIZE = 512, 65535
  local body = string.rep("f", SIZE - 4)
  local sent, paused = 0, false
  while sent < FRAMES do
    local mine = netstat(client)
    if mine and mine.wbuffer > 256 * 1024 then
      paused = paused or (netstat(fd) or {}).throttled
      if paused then assert(io.open(release, "w")):close() end
      skynet.sleep(1)
    else
      socket.write(client, string.pack(">I2>I4", SIZE, sent) .. body)
      sent = sent + 1
    end
  end
  T.ok(paused, "the gate's socket was throttled while the agent held")
  assert(io.open(release, "w")):close()
  T.eventually(function() return skynet.call(agent, "lua", "stat") == FRAMES end, nil, "every packet")
  local packets, bytes, longest, ordered = skynet.call(agent, "lua", "stat")
  T.eq(bytes, FRAMES * SIZE)
  T.ok(ordered, "in order")
  T.ok(longest < FRAMES // 4, "the agent's queue stayed short: " .. longest)
  socket.close(client)
  skynet.call(gate, "lua", "close")
end)

T.start()
