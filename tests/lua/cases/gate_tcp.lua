-- The gate service over real sockets (docs/GATE.md). Not named "gate": the start service of
-- that name would be the gate itself. This case is the watchdog, the agent
-- and, through skynet.socket, the clients. Needs the socket thread and skynet.socketdriver.
local skynet = require "skynet"
local socket = require "skynet.socket"
local T = require "testlib"

local events = {}  -- watchdog events, table.pack(event, fd, ...), in arrival order
local packets = {} -- client messages: { session, source, payload }

skynet.dispatch("lua", function(_, _, cmd, ...)
  if cmd == "socket" then
    events[#events + 1] = table.pack(...)
  end
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

-- The first event (or packet) that matches, removed from the list; nil when there is none.
local function find(list, match)
  for i, e in ipairs(list) do
    if match(e) then return table.remove(list, i) end
  end
end

local function event_match(event, fd)
  return function(e) return e[1] == event and (fd == nil or e[2] == fd) end
end

local function find_event(event, fd)
  return find(events, event_match(event, fd))
end

local function take_event(event, fd)
  return T.eventually(function() return find_event(event, fd) end, 500,
    "watchdog event " .. event .. " " .. tostring(fd))
end

local function take_packet(fd)
  return T.eventually(function()
    return find(packets, function(p) return p.session == fd end)
  end, 500, "client message for fd " .. fd)
end

local function connect(port)
  local id, err = socket.open("127.0.0.1", port)
  T.ok(id, "connect: " .. tostring(err))
  return id
end

local function send(id, ...)
  for _, p in ipairs { ... } do
    T.ok(socket.write(id, string.pack(">s2", p)), "write")
  end
end

local function read_packet(id)
  local header = socket.read(id, 2)
  if not header then return false end
  local size = string.unpack(">I2", header)
  if size == 0 then return "" end
  return socket.read(id, size)
end

local gate, port

local function call(...)
  return skynet.call(gate, "lua", ...)
end

-- A client the gate has announced: returns the client socket and the gate's fd for it.
local function client()
  local c = connect(port)
  local fd = take_event("open")[2]
  return c, fd
end

local function kick(c, fd)
  call("kick", fd)
  take_event("close", fd)
  socket.close(c)
end

T.test("open{port = 0} replies with 127.0.0.1 and the real port, logs Listen on", function()
  local from = T.mark()
  gate = skynet.newservice "gate"
  local address, p = call("open", { address = "127.0.0.1", port = 0 })
  T.eq(address, "127.0.0.1")
  T.ok(math.type(p) == "integer" and p > 0, "a real port, got " .. tostring(p))
  port = p
  T.log(T.line(gate, "Listen on 127.0.0.1 0"), from)
end)

T.test("opening twice fails", function()
  T.raises("call failed$", call, "open", { address = "127.0.0.1", port = 0 })
end)

T.test("the watchdog gets open fd ip:port; nothing is read before accept", function()
  local c = connect(port)
  local e = take_event("open")
  T.ok(math.type(e[2]) == "integer", "fd")
  T.match(e[3], "^127%.0%.0%.1:%d+$")
  T.eq(e.n, 3)
  kick(c, e[2])
end)

T.test("data sent before accept is delivered after it, as data events in order", function()
  local c, fd = client()
  send(c, "first", "", "third")
  skynet.sleep(20)
  T.eq(find_event("data", fd), nil, "no data before accept")
  T.eq(table.pack(call("accept", fd)), table.pack(), "accept's reply")
  T.eq(take_event("data", fd), table.pack("data", fd, "first"))
  T.eq(take_event("data", fd), table.pack("data", fd, ""))
  T.eq(take_event("data", fd), table.pack("data", fd, "third"))
  kick(c, fd)
end)

T.test("forward: session = fd, source = the gate, or the client handle given", function()
  local c, fd = client()
  call("forward", fd)
  send(c, "ping", "")
  T.eq(take_packet(fd), { session = fd, source = gate, payload = "ping" })
  T.eq(take_packet(fd), { session = fd, source = gate, payload = "" })
  -- the agent writes to the socket without owning it
  T.ok(socket.write(fd, string.pack(">s2", "pong")), "agent write")
  T.eq(read_packet(c), "pong")

  local other = skynet.newservice "echo"
  call("forward", fd, other, skynet.self())
  send(c, "again")
  T.eq(take_packet(fd), { session = fd, source = other, payload = "again" })
  -- accept takes the forwarding back: packets go to the watchdog again
  call("accept", fd)
  send(c, "to the watchdog")
  T.eq(take_event("data", fd), table.pack("data", fd, "to the watchdog"))
  kick(c, fd)
  skynet.kill(other)
end)

T.test("accept and forward of an unknown fd fail", function()
  T.raises("call failed$", call, "accept", 999999)
  T.raises("call failed$", call, "forward", 999999)
end)

T.test("maxclient = 3: the third and fourth connections are closed at once, close without open",
  function()
    local g = skynet.newservice "gate"
    local _, p = skynet.call(g, "lua", "open", { address = "127.0.0.1", port = 0, maxclient = 3 })
    local c1 = connect(p)
    local fd1 = take_event("open")[2]
    local c2 = connect(p)
    local fd2 = take_event("open")[2]
    local c3, c4 = connect(p), connect(p)
    local a, b = take_event("close"), take_event("close")
    T.ok(a[2] ~= b[2] and a[2] ~= fd1 and a[2] ~= fd2 and b[2] ~= fd1 and b[2] ~= fd2,
      "closes for the two rejected fds")
    T.eq(find_event("open"), nil, "no open for them")
    T.eq(socket.read(c3), false, "the third sees its socket go")
    T.eq(socket.read(c4), false, "the fourth sees its socket go")
    socket.close(c3)
    socket.close(c4)
    for _, x in ipairs { { c1, fd1 }, { c2, fd2 } } do
      skynet.call(g, "lua", "kick", x[2])
      take_event("close", x[2])
      socket.close(x[1])
    end
    skynet.call(g, "lua", "close")
  end)

T.test("kick closes the client (it sees EOF) and the watchdog gets close", function()
  local c, fd = client()
  call("forward", fd)
  send(c, "x")
  take_packet(fd)
  call("kick", fd)
  T.eq(socket.read(c), false, "EOF at the client")
  take_event("close", fd)
  socket.close(c)
end)

T.test("a client reset: error fd Connection reset by peer, then close fd", function()
  local c, fd = client()
  call("forward", fd)
  send(c, "x")
  take_packet(fd)
  -- Closing with unread bytes in the receive buffer makes the kernel send a RST.
  socket.pause(c)
  T.ok(socket.write(fd, string.pack(">s2", "unread")), "write to the client")
  skynet.sleep(10)
  socket.close(c)
  T.eq(take_event("error", fd), table.pack("error", fd, "Connection reset by peer"))
  take_event("close", fd)
end)

T.test("a client that sends a packet and closes: the packet, then close; kick frees it", function()
  local c, fd = client()
  call("forward", fd)
  send(c, "last words")
  socket.close(c)
  T.eq(take_packet(fd).payload, "last words")
  take_event("close", fd)
  T.eq(#packets, 0, "nothing else")
  call("kick", fd) -- the gate kept the socket since the peer's EOF
  skynet.sleep(10)
  T.eq(find_event("close", fd), nil, "no second close")
end)

T.test("bad input costs only its own connection; the others carry on", function()
  local good, good_fd = client()
  call("forward", good_fd)

  -- a header announcing more than ever comes, then a disconnect: no packet, just close
  local short, short_fd = client()
  call("forward", short_fd)
  socket.write(short, "\3\232only ten b")
  socket.close(short)
  take_event("close", short_fd)
  call("kick", short_fd)

  -- garbage: whatever lengths it spells, the gate frames it and nothing breaks
  local junk, junk_fd = client()
  call("forward", junk_fd)
  local bytes = {}
  local seed = 12345
  for i = 1, 4096 do
    seed = (seed * 1103515245 + 12345) % 2147483648
    bytes[i] = string.char(seed % 256)
  end
  socket.write(junk, table.concat(bytes))
  socket.close(junk)
  take_event("close", junk_fd)
  call("kick", junk_fd)
  packets = {} -- whatever frames the garbage happened to spell

  -- 10k one-byte writes spelling 2,000 packets of 3 bytes: every packet arrives, in order
  local tiny, tiny_fd = client()
  call("forward", tiny_fd)
  local frame = string.pack(">s2", "abc")
  for _ = 1, 2000 do
    for i = 1, #frame do socket.write(tiny, frame:sub(i, i)) end
  end
  T.eventually(function()
    local n = 0
    for _, p in ipairs(packets) do
      if p.session == tiny_fd then n = n + 1 end
    end
    return n == 2000
  end, nil, "2,000 packets from 10k writes")
  for _, p in ipairs(packets) do T.eq(p.payload, "abc") end
  packets = {}
  kick(tiny, tiny_fd)

  send(good, "still served")
  T.eq(take_packet(good_fd).payload, "still served")
  kick(good, good_fd)
end)

T.test("close stops accepting; existing clients keep working", function()
  local c, fd = client()
  call("forward", fd)
  call("close")
  local id, err = socket.open("127.0.0.1", port)
  T.eq(id, nil, "no more connections")
  T.eq(err, "Connection refused")
  send(c, "still here")
  T.eq(take_packet(fd).payload, "still here")
  kick(c, fd)
end)

T.test("nodelay: set on each accepted connection only when asked", function()
  local from = T.mark()
  local spy = skynet.newservice "gatespy"
  local _, p = skynet.call(spy, "lua", "open", { address = "127.0.0.1", port = 0, nodelay = true })
  local c = connect(p)
  local fd = take_event("open")[2]
  T.log(T.line(spy, "nodelay " .. fd), from)
  skynet.call(spy, "lua", "kick", fd)
  take_event("close", fd)
  socket.close(c)

  local plain = skynet.newservice "gatespy"
  local _, p2 = skynet.call(plain, "lua", "open", { address = "127.0.0.1", port = 0 })
  local c2 = connect(p2)
  local fd2 = take_event("open")[2]
  T.eq(T.find_log("^%[" .. T.esc(T.hex(plain)) .. "%] nodelay", from, 20), nil, "no nodelay")
  skynet.call(plain, "lua", "kick", fd2)
  take_event("close", fd2)
  socket.close(c2)
end)

T.start()
