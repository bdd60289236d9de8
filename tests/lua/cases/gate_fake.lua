-- snax.gateserver and the gate service (docs/GATE.md) over a fake socket driver
-- (tests/lua/services/fakegate.lua): the socket events are injected, the driver calls
-- recorded. This case is the watchdog and the agent. The same behaviours over real sockets
-- are in gate.lua.
local skynet = require "skynet"
local T = require "testlib"

skynet.register_protocol {
  name = "fake",
  id = 200,
  pack = skynet.pack,
  unpack = skynet.unpack,
}

local events = {}  -- watchdog events, table.pack(event, fd, ...)
local packets = {} -- client messages { session, source, payload }

skynet.dispatch("lua", function(_, _, cmd, ...)
  if cmd == "socket" then events[#events + 1] = table.pack(...) end
end)

skynet.register_protocol {
  name = "client",
  id = skynet.PTYPE_CLIENT,
  unpack = skynet.tostring,
  dispatch = function(session, source, payload)
    skynet.ignoreret()
    packets[#packets + 1] = { session = session, source = source, payload = payload }
  end,
}

local function take(list, match, what)
  return T.eventually(function()
    for i, e in ipairs(list) do
      if match(e) then return table.remove(list, i) end
    end
  end, 300, what)
end

local function take_event(event, fd)
  return take(events, function(e) return e[1] == event and e[2] == fd end,
    "watchdog event " .. event .. " " .. tostring(fd))
end

local function take_packet(fd)
  return take(packets, function(p) return p.session == fd end, "client message for " .. fd)
end

local gate, listen_id

local function call(...) return skynet.call(gate, "lua", ...) end
local function fake(...) return skynet.call(gate, "fake", ...) end
local function sink(fd, service) return string.format("sink %d %d", fd, service) end

local next_fd = 1
-- A connection the gate accepted and announced: its fd.
local function connect(g, listener)
  next_fd = next_fd + 1
  local fd = next_fd
  skynet.call(g or gate, "fake", "accept", listener or listen_id, fd, "10.0.0.1:" .. (5000 + fd))
  T.eq(take_event("open", fd), table.pack("open", fd, "10.0.0.1:" .. (5000 + fd)))
  return fd
end

T.test("open{port = 0}: listen, the bound address and port back, then start", function()
  local from = T.mark()
  gate = skynet.newservice "fakegate"
  T.eq(table.pack(call("open", { address = "127.0.0.1", port = 0 })), table.pack("127.0.0.1", 4242))
  local calls = fake "calls"
  T.eq(#calls, 2)
  T.eq(calls[1], "listen 127.0.0.1 0 nil")
  listen_id = tonumber(calls[2]:match "^start (%d+)$")
  T.ok(listen_id, "start of the listener")
  T.log(T.line(gate, "Listen on 127.0.0.1 0"), from)
  T.raises("call failed$", call, "open", { port = 0 })
end)

T.test("an accepted connection is announced but not read until accept", function()
  local fd = connect()
  T.eq(fake "calls", {}, "no start, no nodelay")
  T.eq(table.pack(call("accept", fd)), table.pack())
  T.eq(fake "calls", { sink(fd, skynet.self()), "start " .. fd }, "the watchdog paces the reads")
  fake("data", fd, "hello")
  fake("data", fd, "")
  T.eq(take_event("data", fd), table.pack("data", fd, "hello"))
  T.eq(take_event("data", fd), table.pack("data", fd, ""))
  call("kick", fd)
  take_event("close", fd)
  T.eq(fake "calls", { "close " .. fd })
end)

T.test("forward: client messages with session = fd, source = gate or the given client", function()
  local fd = connect()
  call("forward", fd)
  T.eq(fake "calls", { sink(fd, skynet.self()), "start " .. fd }, "the agent paces the reads")
  fake("data", fd, "one")
  fake("data", fd, "")
  T.eq(take_packet(fd), { session = fd, source = gate, payload = "one" })
  T.eq(take_packet(fd), { session = fd, source = gate, payload = "" })
  call("forward", fd, 0x1234, skynet.self())
  fake("data", fd, "two")
  T.eq(take_packet(fd), { session = fd, source = 0x1234, payload = "two" })
  call("accept", fd)
  fake("data", fd, "three")
  T.eq(take_event("data", fd), table.pack("data", fd, "three"))
  T.eq(#packets, 0)
  call("kick", fd)
  take_event("close", fd)
  fake "calls"
end)

T.test("several frames in one read are delivered in order; a partial one waits", function()
  local fd = connect()
  call("forward", fd)
  -- frames 00 01 00, twice, then the first byte of a third
  fake("raw", fd, nil, false, nil, nil, false, nil, nil)
  T.eq(take_packet(fd).payload, "\0")
  T.eq(take_packet(fd).payload, "\0")
  skynet.sleep(5)
  T.eq(#packets, 0)
  fake("raw", fd, false, nil) -- completes it: 01 00
  T.eq(take_packet(fd).payload, "\0")
  call("kick", fd)
  take_event("close", fd)
  fake "calls"
end)

T.test("accept / forward of an unknown fd and unknown commands fail", function()
  T.raises("call failed$", call, "accept", 999)
  T.raises("call failed$", call, "forward", 999)
  T.raises("call failed$", call, "nonsense")
end)

T.test("maxclient = 3: the third and fourth are shut down at once, close without open", function()
  local g = skynet.newservice "fakegate"
  skynet.call(g, "lua", "open", { address = "127.0.0.1", port = 7000, maxclient = 3 })
  local listener = tonumber(skynet.call(g, "fake", "calls")[2]:match "%d+$")
  local fd1, fd2 = connect(g, listener), connect(g, listener)
  for fd = 900, 901 do
    skynet.call(g, "fake", "accept", listener, fd, "10.0.0.2:1")
    take_event("close", fd)
  end
  T.eq(#events, 0, "no open for them")
  T.eq(skynet.call(g, "fake", "calls"), { "shutdown 900", "shutdown 901" })
  local function kick(fd)
    skynet.call(g, "lua", "kick", fd)
    take_event("close", fd)
  end
  kick(fd1)
  local fd3 = connect(g, listener) -- room again for a second client
  kick(fd2)
  kick(fd3)
end)

T.test("error: the gate shuts the socket down, the watchdog gets error then close", function()
  local fd = connect()
  call("forward", fd)
  fake "calls"
  fake("error", fd, "Connection reset by peer")
  T.eq(take_event("error", fd), table.pack("error", fd, "Connection reset by peer"))
  take_event("close", fd)
  T.eq(fake "calls", { "shutdown " .. fd })
end)

T.test("peer close: close event, later data dropped with a log line, kick frees the socket", function()
  local fd = connect()
  call("forward", fd)
  fake "calls"
  fake("peer_close", fd)
  take_event("close", fd)
  local from = T.mark()
  fake("data", fd, "late")
  T.log(T.line(gate, "Drop message from fd (" .. fd .. ") : late"), from)
  T.eq(#packets, 0)
  call("kick", fd)
  T.eq(fake "calls", { "close " .. fd })
  skynet.sleep(5)
  T.eq(#events, 0, "no second close")
end)

T.test("warning goes to the watchdog", function()
  local fd = connect()
  fake("warning", fd, 2048)
  T.eq(take_event("warning", fd), table.pack("warning", fd, 2048))
  call("kick", fd)
  take_event("close", fd)
end)

T.test("nodelay is set on accepted connections only when asked", function()
  local g = skynet.newservice "fakegate"
  skynet.call(g, "lua", "open", { address = "127.0.0.1", port = 7001, nodelay = true })
  local listener = tonumber(skynet.call(g, "fake", "calls")[2]:match "%d+$")
  local fd = connect(g, listener)
  T.eq(skynet.call(g, "fake", "calls"), { "nodelay " .. fd })
  fake "calls"
  local other = connect() -- the first gate was opened without nodelay
  T.eq(fake "calls", {})
  for _, x in ipairs { { g, fd }, { gate, other } } do
    skynet.call(x[1], "lua", "kick", x[2])
    take_event("close", x[2])
  end
end)

T.test("close: the listener is closed, its CLOSE is no client event, clients stay", function()
  local fd = connect()
  call("forward", fd)
  fake "calls"
  call("close")
  T.eq(fake "calls", { "close " .. listen_id })
  fake("data", fd, "still")
  T.eq(take_packet(fd).payload, "still")
  T.eq(#events, 0, "no event for the listener's close")
  T.raises("call failed$", call, "close") -- not listening any more
  call("kick", fd)
  take_event("close", fd)
end)

T.start()
