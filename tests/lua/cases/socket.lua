-- skynet.socket and skynet.socketdriver over loopback: the socket checklist of docs/TESTING.md.
-- The case is both ends of every connection (a listener of its own, clients it opens).
local skynet = require "skynet"
local socket = require "skynet.socket"
local driver = require "skynet.socketdriver"
local T = require "testlib"

local listener, listen_port
local accepted = {} -- { id, addr } in accept order
local accept_token = {}

local function on_accept(id, addr)
  accepted[#accepted + 1] = { id = id, addr = addr }
  skynet.wakeup(accept_token)
end

local function next_accepted()
  T.eventually(function() return #accepted > 0 end, nil, "an ACCEPT")
  return table.remove(accepted, 1)
end

-- A connected pair, both pooled here: the client's id and the accepted (started) id.
local function pair()
  local client = assert(socket.open("127.0.0.1", listen_port))
  local server = next_accepted().id
  T.eq(socket.start(server), server, "start the accepted socket")
  return client, server
end

local function reading(id)
  for _, s in ipairs(socket.netstat()) do
    if s.id == id then return s.reading end
  end
end

local function my_lines(from, pattern)
  T.sync()
  local out = {}
  for _, line in ipairs(T.lines(from)) do
    if line:find(pattern) then out[#out + 1] = line end
  end
  return out
end

T.test("ids: the first socket is 1, ids increase, a refused connect consumes one", function()
  local id, addr, port = socket.listen("127.0.0.1", 0)
  T.eq(id, 1, "first id")
  T.eq(addr, "127.0.0.1")
  T.eq(math.type(port), "integer")
  T.ok(port > 0, "a real port")
  socket.close(id)
  -- nothing listens on that port any more
  local refused, err = socket.open("127.0.0.1", port)
  T.eq(refused, nil)
  T.eq(err, "Connection refused")
  listener, _, listen_port = socket.listen("127.0.0.1", 0)
  T.eq(listener, 3, "the refused connect took id 2")
end)

T.test("a listener accepts nothing before start; the handshake completes in the kernel", function()
  local client = assert(socket.open("127.0.0.1", listen_port))
  T.ok(client > listener, "client id")
  skynet.sleep(10)
  T.eq(#accepted, 0, "no ACCEPT before start")
  T.eq(socket.start(listener, on_accept), listener)
  local a = next_accepted()
  T.match(a.addr, "^127%.0%.0%.1:%d+$", "ACCEPT text")
  T.eq(socket.invalid(a.id), true, "accepted id not pooled before start")
  T.eq(socket.disconnected(a.id), nil, "disconnected of an unpooled id")
  T.eq(socket.start(a.id), a.id)
  T.eq(socket.invalid(a.id), false)
  T.eq(socket.disconnected(a.id), false)
  socket.close(client)
  socket.close(a.id)
end)

T.test("address forms: host:port, [::1]:port, port 0, missing port", function()
  local client = assert(socket.open("127.0.0.1:" .. listen_port))
  local a = next_accepted()
  socket.close(client)
  socket.close_fd(a.id)
  T.raises("Invalid port", socket.open, "127.0.0.1", 0)
  T.raises("Invalid address 127%.0%.0%.1%.", socket.open, "127.0.0.1")
  local v6, _, v6port = socket.listen("::1", 0)
  T.eq(socket.start(v6, on_accept), v6)
  local c6 = assert(socket.open("[::1]:" .. v6port))
  local a6 = next_accepted()
  T.match(a6.addr, "^::1:%d+$", "IPv6 ACCEPT text")
  socket.close(c6)
  socket.close_fd(a6.id)
  socket.close(v6)
end)

T.test("readline with the default and a custom separator; read(n) across DATA; read()", function()
  local client, server = pair()
  T.ok(socket.write(client, "hello\nwor"))
  T.eq(socket.readline(server), "hello")
  T.ok(socket.write(client, "ld\r\n"))
  T.eq(socket.readline(server, "\r\n"), "world")
  local reader = T.spawn(socket.read, server, 10)
  for i = 1, 10 do
    socket.write(client, tostring(i % 10))
    skynet.yield()
  end
  T.eq(reader:value(), "1234567890")
  socket.write(client, "abc")
  T.eq(socket.read(server), "abc", "read() returns what arrives")
  socket.close(client)
  socket.close(server)
end)

T.test("readline: a separator split across packets after a long wait; the limit raises", function()
  local client, server = pair()
  local reader = T.spawn(socket.readline, server, "\r\n")
  for _ = 1, 50 do -- the search resumes where the last one stopped
    socket.write(client, string.rep("x", 1000))
    skynet.yield()
  end
  socket.write(client, "\r")
  skynet.yield()
  socket.write(client, "\nnext\r\n")
  T.eq(reader:value(), string.rep("x", 50000), "the line, its separator split in two")
  T.eq(socket.readline(server, "\r\n"), "next")
  local limited = T.spawn(socket.readline, server, "\n", 4096)
  socket.write(client, "short enough\n")
  T.eq(limited:value(), "short enough", "under the limit")
  limited = T.spawn(socket.readline, server, "\n", 4096)
  for _ = 1, 8 do
    socket.write(client, string.rep("y", 1000))
    skynet.yield()
  end
  T.match(limited:err(), "socket: a line longer than 4096 bytes %(fd = %d+%)$")
  socket.close(client)
  socket.close(server)
end)

T.test("the peer closes with partial data: false, rest; then false, \"\"; readall false", function()
  local client, server = pair()
  socket.write(client, "partial")
  socket.close(client)
  T.eq(table.pack(socket.read(server, 100)), table.pack(false, "partial"))
  T.eq(table.pack(socket.read(server, 1)), table.pack(false, ""))
  T.eq(table.pack(socket.read(server)), table.pack(false, ""))
  T.eq(table.pack(socket.readline(server)), table.pack(false, ""))
  T.eq(socket.readall(server), false)
  T.eq(socket.block(server), false)
  T.eq(socket.disconnected(server), true, "disconnected after EOF")
  T.eq(socket.invalid(server), false, "still pooled")
  T.eq(socket.write(server, "after eof"), true, "half-closed: writing is allowed")
  socket.close(server)
  T.eq(socket.invalid(server), true)
end)

T.test("readall returns everything at EOF", function()
  local client, server = pair()
  local reader = T.spawn(socket.readall, server)
  socket.write(client, "one ")
  socket.write(client, { "two", " ", "three" })
  socket.close(client)
  T.eq(reader:value(), "one two three")
  socket.close(server)
end)

T.test("close while a coroutine waits in read(n): it gets false, rest; onclose fires once", function()
  local client, server = pair()
  local closed = 0
  socket.onclose(server, function(id)
    T.eq(id, server)
    closed = closed + 1
  end)
  local reader = T.spawn(socket.read, server, 10)
  socket.write(client, "abc")
  skynet.sleep(5)
  socket.close(server)
  T.eq(table.pack(reader:value()), table.pack(false, "abc"))
  T.eventually(function() return closed == 1 end, nil, "onclose")
  skynet.sleep(5)
  T.eq(closed, 1, "onclose once")
  socket.close(client)
end)

-- Reads from `id` until EOF with the peer paused first; returns the byte count.
local function drain(id)
  local total = 0
  while true do
    local bytes = socket.read(id)
    if not bytes then return total end
    total = total + #bytes
  end
end

T.test("close with 4 MiB queued delivers every byte; shutdown drops some", function()
  local chunk = string.rep("x", 64 * 1024)
  local client, server = pair()
  socket.pause(server)
  for _ = 1, 64 do socket.write(client, chunk) end
  socket.close(client)
  T.eq(drain(server), 64 * #chunk, "graceful close")
  socket.close(server)

  client, server = pair()
  socket.pause(server)
  T.eventually(function() return reading(server) == false end, nil, "reading stopped")
  -- Write until the socket thread itself holds a backlog (its first warning), so that some
  -- bytes are surely still queued when the shutdown drops them.
  local backlog = false
  socket.warning(client, function(_, kib) backlog = backlog or kib > 0 end)
  local written = 0
  while not backlog and written < 64 * 1024 * 1024 do
    socket.write(client, chunk)
    written = written + #chunk
    if written % (1024 * 1024) == 0 then skynet.yield() end
  end
  T.ok(backlog, "a backlog built up")
  socket.shutdown(client)
  local got = drain(server)
  T.ok(got < written, "shutdown dropped queued bytes (" .. got .. " of " .. written .. " arrived)")
  socket.close(server)
  socket.close(client)
end)

T.test("WARNING: 1 MiB then 2 MiB then 0 when a paused peer drains", function()
  local chunk = string.rep("w", 64 * 1024)
  local client, server = pair()
  local warnings = {}
  socket.warning(client, function(id, kib)
    T.eq(id, client)
    warnings[#warnings + 1] = kib
  end)
  socket.pause(server)
  T.eventually(function() return reading(server) == false end, nil, "reading stopped")
  -- How much the kernels take before the backlog grows varies: write until two warnings
  -- have come (a yield per MiB lets them in), at most 64 MiB.
  local written = 0
  while #warnings < 2 and written < 64 * 1024 * 1024 do
    socket.write(client, chunk)
    written = written + #chunk
    if written % (1024 * 1024) == 0 then skynet.yield() end
  end
  T.ok(#warnings >= 2, "two warnings")
  T.ok(warnings[1] >= 1024, "first warning at 1 MiB: " .. warnings[1])
  T.ok(warnings[2] >= 2048 and warnings[2] > warnings[1], "second at 2 MiB: " .. warnings[2])
  local got = 0
  while got < written do
    got = got + #assert(socket.read(server))
  end
  T.eventually(function() return warnings[#warnings] == 0 end, nil, "the drained warning")
  socket.close(client)
  socket.close(server)
end)

T.test("limit: going past it closes the socket and logs the overflow", function()
  local client, server = pair()
  socket.limit(server, 1000)
  local from = T.mark()
  socket.write(client, string.rep("l", 4000))
  T.log("socket buffer overflow: fd=" .. server .. " size=%d+$", from)
  T.eventually(function() return socket.disconnected(server) end, nil, "closed by the overflow")
  socket.close(server)
  socket.close(client)
end)

T.test("more than 128 KiB unread pauses the socket; the next read resumes it, nothing lost", function()
  local client, server = pair()
  local from = T.mark()
  local chunk = string.rep("p", 32 * 1024)
  for _ = 1, 16 do socket.write(client, chunk) end -- 512 KiB
  T.log("Pause socket %(" .. server .. "%) size : %d+$", from)
  -- Once the socket thread has stopped reading, one more byte stays in the kernel: the read
  -- below cannot be served from the buffer alone and must resume the socket.
  T.eventually(function() return reading(server) == false end, nil, "reading stopped")
  socket.write(client, "!")
  local got = assert(socket.read(server, 16 * #chunk + 1))
  T.eq(#got, 16 * #chunk + 1)
  T.eq(got:sub(-1), "!")
  T.log("Resume socket %(" .. server .. "%)$", from)
  socket.close(client)
  socket.close(server)
end)

T.test("explicit pause logs its line; reading resumes", function()
  local client, server = pair()
  local from = T.mark()
  socket.pause(server)
  T.log("Pause socket %(" .. server .. "%)$", from)
  socket.write(client, "resumed")
  T.eq(socket.read(server, 7), "resumed")
  socket.close(client)
  socket.close(server)
end)

T.test("abandon + start in another service transfers the stream", function()
  local peer = skynet.newservice("sockpeer")
  local client, server = pair()
  socket.pause(server)
  socket.write(client, "0123456789")
  skynet.sleep(5)
  socket.abandon(server)
  T.eq(socket.invalid(server), true)
  T.eq(table.pack(skynet.call(peer, "lua", "take", server, 10)), table.pack("0123456789"))
  socket.write(client, "more")
  socket.close(client)
  skynet.call(peer, "lua", "close", server)
  skynet.kill(peer)
end)

T.test("abandon without pausing: data that reaches the old owner is dropped and logged", function()
  local client, server = pair()
  socket.abandon(server)
  local from = T.mark()
  socket.write(client, "lost")
  T.log("socket: drop package from " .. server .. "$", from)
  socket.close(client)
  driver.close(server)
end)

T.test("start: an invalid id gives nil, \"invalid socket\"; a pooled id raises", function()
  T.eq(table.pack(socket.start(60000)), table.pack(nil, "invalid socket"))
  local client, server = pair()
  T.raises("socket is not closed", socket.start, server)
  socket.close(client)
  socket.close(server)
end)

T.test("read(id, 0) never succeeds; a second reader fails an assertion", function()
  local client, server = pair()
  local zero = T.spawn(socket.read, server, 0)
  skynet.sleep(5)
  T.eq(zero.done, false, "read(id, 0) waits for data")
  socket.write(client, "zz")
  T.eq(table.pack(zero:value()), table.pack(false, "zz"))
  local first = T.spawn(socket.read, server, 5)
  skynet.sleep(2)
  T.raises("assertion failed!", socket.read, server, 5)
  socket.write(client, "fives")
  T.eq(first:value(), "fives")
  socket.close(client)
  socket.close(server)
end)

T.test("writing to an accepted socket before start returns true; the bytes are lost", function()
  local client = assert(socket.open("127.0.0.1", listen_port))
  local a = next_accepted()
  T.eq(socket.write(a.id, "never sent"), true)
  skynet.sleep(5)
  socket.start(a.id)
  socket.write(a.id, "sent")
  T.eq(socket.read(client, 4), "sent")
  socket.close(client)
  socket.close(a.id)
end)

T.test("a peer that resets: ERROR Connection reset by peer, then CLOSE", function()
  local client, server = pair()
  socket.pause(client)
  socket.write(server, "unread by the client")
  skynet.sleep(5)
  socket.close(client) -- closing with unread bytes makes the kernel send RST
  local from = T.mark()
  T.eq(table.pack(socket.read(server, 1)), table.pack(false, ""))
  T.log("socket: error on " .. server .. " Connection reset by peer$", from)
  socket.close(server)
end)

-- A port nothing uses now (UDP and TCP ports are separate, but one free for TCP is free enough).
local function free_port(host)
  local id, _, port = socket.listen(host, 0)
  socket.close(id)
  return port
end

T.test("UDP: echo via sendto(from), udp_connect + write, udp_dial, empty datagram", function()
  local port = free_port("127.0.0.1")
  local server
  server = socket.udp(function(data, from)
    socket.sendto(server, from, "echo:" .. data)
  end, "127.0.0.1", port)
  local replies = {}
  local client = socket.udp(function(data, from)
    local ip, from_port = socket.udp_address(from)
    T.eq(ip, "127.0.0.1")
    T.eq(from_port, port)
    replies[#replies + 1] = data
  end)
  socket.udp_connect(client, "127.0.0.1", port)
  T.ok(socket.write(client, "ping"))
  T.eventually(function() return #replies == 1 end, nil, "the first reply")
  T.ok(socket.write(client, ""))
  T.eventually(function() return #replies == 2 end, nil, "the empty datagram's reply")
  T.eq(replies, { "echo:ping", "echo:" })
  local dialed = socket.udp_dial("127.0.0.1", port, function(data) replies[#replies + 1] = data end)
  T.ok(socket.write(dialed, "dial"))
  T.eventually(function() return #replies == 3 end, nil, "the dialed reply")
  T.eq(replies[3], "echo:dial")
  T.raises("Invalid udp address", socket.udp_address, "short")
  local kinds = {}
  for _, s in ipairs(socket.netstat()) do kinds[s.id] = s.type end
  T.eq(kinds[server], "UDP", "netstat type of a UDP socket")
  socket.close(client)
  socket.close(dialed)
  socket.close(server)
end)

T.test("UDP over IPv6, with udp_listen and the host:port form", function()
  local port = free_port("::1")
  local got
  local server
  server = socket.udp_listen("::1", port, function(data, from)
    socket.sendto(server, from, data)
  end)
  local client = socket.udp_dial("[::1]:" .. port, function(data, from)
    local ip, from_port = socket.udp_address(from)
    got = { data, ip, from_port }
  end)
  socket.write(client, "six")
  T.eventually(function() return got end, nil, "the v6 echo")
  T.eq(got, { "six", "::1", port })
  socket.close(client)
  socket.close(server)
end)

T.test("netstat fields for LISTEN and TCP sockets", function()
  local client, server = pair()
  socket.write(client, "stat")
  T.eq(socket.read(server, 4), "stat")
  local by_id = {}
  for _, s in ipairs(socket.netstat()) do by_id[s.id] = s end
  local l = by_id[listener]
  T.eq(l.type, "LISTEN")
  T.eq(l.address, skynet.self())
  T.eq(math.type(l.accept), "integer")
  T.match(l.sock, "^127%.0%.0%.1:" .. listen_port .. "$")
  local c = by_id[client]
  T.eq(c.type, "TCP")
  T.eq(c.write, 4)
  T.eq(c.wbuffer, 0)
  T.eq(type(c.reading), "boolean")
  T.eq(type(c.writing), "boolean")
  T.match(c.peer, "^127%.0%.0%.1:" .. listen_port .. "$")
  local s = by_id[server]
  T.eq(s.read, 4)
  T.ok(math.abs(s.rtime - skynet.now()) < 500, "rtime in centiseconds of the node clock")
  T.ok(math.abs(c.wtime - skynet.now()) < 500, "wtime in centiseconds of the node clock")
  socket.close(client)
  socket.close(server)
end)

T.test("resolve and header", function()
  local ips = socket.resolve("localhost")
  T.ok(#ips >= 1, "at least one address")
  for _, ip in ipairs(ips) do T.eq(type(ip), "string") end
  T.raises(".", socket.resolve, "no-such-host.invalid")
  T.eq(socket.header("\1\2"), 258)
  T.eq(socket.header("\255\255\255\255"), 0xffffffff)
  T.raises("Invalid read ", socket.header, "")
  T.raises("Invalid read 12345", socket.header, "12345")
end)

T.start()
