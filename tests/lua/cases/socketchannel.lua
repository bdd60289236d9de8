-- skynet.socketchannel in order mode, and what both modes share (connecting, backups, auth,
-- close, changehost, failures): docs/SOCKETCHANNEL.md and its checklist in docs/TESTING.md. The server is
-- tests/lua/services/sc_server.lua (one line per request); session mode, the retry loop,
-- overload and the timeout extension have cases of their own (socketchannel_*.lua).
local skynet = require "skynet"
local socket = require "skynet.socket"
local driver = require "skynet.socketdriver"
local sc = require "skynet.socketchannel"
local T = require "testlib"
local H = require "sctest"

local HOST = "127.0.0.1"

local channel = H.channel

T.test("sc.error is a unique table whose tostring is [Error: socket]", function()
  T.eq(type(sc.error), "table")
  T.eq(tostring(sc.error), "[Error: socket]")
  T.ok(rawequal(require("skynet.socketchannel").error, sc.error), "the same object on require")
end)

T.test("creating a channel does not connect; host is required", function()
  local port = H.listen()
  local ch = channel(port)
  skynet.sleep(5)
  T.eq(H.stats(port).accepted, 0)
  T.eq(ch.__host, HOST)
  T.eq(ch.__port, port)
  T.raises("assertion failed!$", sc.channel, { port = port })
  ch:close()
end)

T.test("order mode echo over a line protocol; one connection serves every request", function()
  local port = H.listen()
  local ch = channel(port)
  T.eq(ch:connect(true), true, "connect(true)")
  T.eq(ch:connect(true), true, "connect(true) again: already connected")
  for i = 1, 5 do
    T.eq(ch:request("echo hello" .. i .. "\n", H.line), "hello" .. i)
  end
  -- 32 pipelined callers: replies come back in request order, each to its own caller
  local ps = {}
  for i = 1, 32 do ps[i] = T.spawn(ch.request, ch, "echo p" .. i .. "\n", H.line) end
  for i = 1, 32 do T.eq(ps[i]:value(), "p" .. i) end
  local st = H.stats(port)
  T.eq(st.accepted, 1, "connections accepted")
  T.eq(#st.lines, 37)
  ch:close()
end)

T.test("a request connects by itself (one pass) when nothing connected before", function()
  local port = H.listen()
  local ch = channel(port)
  T.eq(ch:request("echo first\n", H.line), "first")
  T.eq(H.stats(port).accepted, 1)
  ch:close()
end)

T.test("the request is one string or an array of strings; one socket.write per request", function()
  local port = H.listen()
  local ch = channel(port)
  ch:connect(true)
  local writes, lwrites = 0, 0
  local write, lwrite = socket.write, socket.lwrite
  socket.write = function(...) writes = writes + 1; return write(...) end
  socket.lwrite = function(...) lwrites = lwrites + 1; return lwrite(...) end
  local ok, err = pcall(function()
    T.eq(ch:request({ "ec", "ho ", "parts\n" }, H.line), "parts")
    T.eq(ch:request("echo whole\n", H.line), "whole")
  end)
  socket.write, socket.lwrite = write, lwrite
  assert(ok, err)
  T.eq({ writes, lwrites }, { 2, 0 }, "normal priority, one write each")
  ch:close()
end)

T.test("requests issued while others wait are gathered into one write, in order", function()
  local port = H.listen()
  local ch = channel(port)
  ch:connect(true)
  local sizes = {}
  local write = socket.write
  socket.write = function(fd, s) sizes[#sizes + 1] = #s; return write(fd, s) end
  local ok, err = pcall(function()
    local calls = {}
    for i = 1, 10 do calls[i] = T.spawn(ch.request, ch, "echo " .. i .. "\n", H.line) end
    for i = 1, 10 do T.eq(calls[i]:value(), tostring(i), "reply " .. i) end
    -- the first went out alone on an idle connection, the nine behind it in one write
    T.eq(sizes, { #"echo 1\n", 9 * #"echo 2\n" + 1 })
    sizes = {}
    T.eq(ch:request("echo idle\n", H.line), "idle")
    T.eq(sizes, { #"echo idle\n" }, "idle again: written at once")
  end)
  socket.write = write
  assert(ok, err)
  T.eq(H.stats(port).lines[2], "echo 2", "the server read them in order")
  ch:close()
end)

T.test("a gathered request on a connection that dies before the write fails with sc.error", function()
  local port = H.listen()
  local ch = channel(port)
  local first = T.spawn(ch.request, ch, "silent\n", H.line)
  H.wait_lines(port, 1)
  -- forks run in order: the request is gathered behind `first`, then changehost closes the
  -- socket, then the gathered write's turn comes
  local second = T.spawn(ch.request, ch, "echo b\n", H.line)
  T.spawn(ch.changehost, ch, "127.0.0.1", port)
  H.is_socket_error(H.raw_error(first), "the waiting caller")
  H.is_socket_error(H.raw_error(second), "the gathered caller")
  T.eq(ch:request("echo c\n", H.line), "c", "the next request reconnects")
  T.eq(#H.stats(port).lines, 2, "the gathered request never reached the server")
  ch:close()
end)

T.test("padding: the request and every padding part go out with low priority, in order", function()
  local port = H.listen()
  local ch = channel(port)
  ch:connect(true)
  local calls = {}
  local write, lwrite = socket.write, socket.lwrite
  socket.write = function(fd, s) calls[#calls + 1] = "w"; return write(fd, s) end
  socket.lwrite = function(fd, s) calls[#calls + 1] = "l:" .. s; return lwrite(fd, s) end
  local ok, err = pcall(function()
    T.eq(ch:request("echo ", H.line, { "pad", "ded", "\n" }), "padded")
  end)
  socket.write, socket.lwrite = write, lwrite
  assert(ok, err)
  T.eq(calls, { "l:echo ", "l:pad", "l:ded", "l:\n" })
  T.eq(ch:request("echo after\n", H.line), "after", "a normal request follows")
  ch:close()
end)

T.test("peer closes during a request: sc.error itself; the next request reconnects", function()
  local port = H.listen()
  local ch = channel(port)
  T.eq(ch:request("echo a\n", H.line), "a")
  local ok, e = pcall(ch.request, ch, "close\n", H.line)
  T.eq(ok, false)
  H.is_socket_error(e, "the raised value")
  T.eq(ch:request("echo b\n", H.line), "b")
  T.eq(H.stats(port).accepted, 2, "a new connection")
  ch:close()
end)

T.test("sock:read and sock:readline raise sc.error when the peer has closed", function()
  local port = H.listen()
  local ch = channel(port)
  local seen = {}
  local function probe(sock)
    local ok, e = pcall(sock.readline, sock)
    seen.readline_ok, seen.readline_err = ok, e
    ok, e = pcall(sock.read, sock, 5)
    seen.read_ok, seen.read_err = ok, e
    ok, e = pcall(sock.read, sock)
    seen.readall_ok, seen.readall_err = ok, e
    return true, "unreachable"
  end
  T.eq(ch:request("close\n", probe), "unreachable")
  T.eq(seen.readline_ok, false)
  H.is_socket_error(seen.readline_err, "readline")
  T.eq(seen.read_ok, false)
  H.is_socket_error(seen.read_err, "read(5)")
  T.eq(seen.readall_ok, false)
  H.is_socket_error(seen.readall_err, "read()")
  ch:close()
end)

T.test("response fn returns false, data: only that caller fails with data; connection kept", function()
  local port = H.listen()
  local ch = channel(port)
  ch:connect(true)
  T.raises("socketchannel%.lua:%d+: x$", ch.request, ch, "fail x\n", H.line)
  local ok, e = pcall(ch.request, ch, "fail x\n", H.line)
  T.eq(ok, false)
  T.match(e, "^[^:]*socketchannel%.lua:%d+: x$", "one position prefix")
  -- a table failure value arrives unchanged, nil gives the VM's nil error value
  local tbl = { reason = "exec" }
  ok, e = pcall(ch.request, ch, "echo t\n", function(sock) sock:readline(); return false, tbl end)
  T.ok(not ok and rawequal(e, tbl), "table failure value")
  ok, e = pcall(ch.request, ch, "echo n\n", function(sock) sock:readline(); return false, nil end)
  T.eq({ ok, e }, { false, nil }, "nil failure value")
  T.eq(ch:request("echo still\n", H.line), "still")
  T.eq(H.stats(port).accepted, 1, "the same connection")
  ch:close()
end)

T.test("response fn raises: it and all pending calls fail alike; earlier ones done; reconnect", function()
  local port = H.listen()
  local ch = channel(port)
  ch:connect(true)
  local function raising(sock)
    sock:readline()
    error("bad reply")
  end
  local first = T.spawn(ch.request, ch, "echo first\n", H.line)
  local bad = T.spawn(ch.request, ch, "echo x\n", raising)
  local p2 = T.spawn(ch.request, ch, "echo two\n", H.line)
  local p3 = T.spawn(ch.request, ch, "sleep 20 three\n", H.line)
  T.eq(first:value(), "first")
  local e = bad:err()
  T.match(e, "socketchannel%.lua:%d+: [^:]*socketchannel%.lua:%d+: bad reply$", "double prefix")
  T.eq(p2:err(), e, "pending call 2")
  T.eq(p3:err(), e, "pending call 3")
  T.eq(ch:request("echo again\n", H.line), "again")
  T.eq(H.stats(port).accepted, 2, "reconnected")
  ch:close()
end)

T.test("multi-part order reply: all parts -> array; a failing part -> error with its data", function()
  local port = H.listen()
  local ch = channel(port)
  T.eq(ch:request("multi 3 p\n", H.line), { "p1", "p2", "p3" })
  T.eq(ch:request("multi 1 q\n", H.line), "q1", "a single part is not an array")
  T.raises("socketchannel%.lua:%d+: bad$", ch.request, ch, "multifail 2 bad\n", H.line)
  T.eq(ch:request("echo next\n", H.line), "next", "the stream is still in step")
  T.eq(H.stats(port).accepted, 1)
  ch:close()
end)

T.test("request(req) without response returns at once; its reply is left for the next fn", function()
  local port = H.listen()
  local ch = channel(port)
  ch:connect(true)
  local yielded = false
  skynet.fork(function() yielded = true end)
  local r = table.pack(ch:request("echo one\n"))
  T.eq(yielded, false, "request did not yield")
  T.eq(r.n, 0, "no values")
  T.eq(ch:request("echo two\n", H.line), "one", "the earlier reply")
  T.eq(ch:response(H.line), "two", "response() takes the next one")
  ch:close()
end)

T.test("close() with a pending call: sc.error; then assertion failed!; connect(true) reopens", function()
  local port = H.listen()
  local ch = channel(port)
  ch:connect(true)
  local p = T.spawn(ch.request, ch, "silent\n", H.line)
  H.wait_lines(port, 1)
  ch:close()
  H.is_socket_error(H.raw_error(p), "pending caller")
  T.raises("socketchannel%.lua:%d+: assertion failed!$", ch.request, ch, "echo x\n", H.line)
  T.raises("socketchannel%.lua:%d+: assertion failed!$", ch.request, ch, "echo x\n", H.line)
  ch:close() -- a second close does nothing
  T.eventually(function() return H.stats(port).open == 0 end, nil, "server side closed")
  T.eq(ch:connect(true), true)
  T.eq(ch:request("echo back\n", H.line), "back")
  T.eq(H.stats(port).accepted, 2)
  ch:close()
end)

T.test("close() while the response fn holds its reply: it succeeds, callers behind get channel_closed", function()
  local port = H.listen()
  local ch = channel(port)
  ch:connect(true)
  local read = false
  local function slow(sock)
    local line = sock:readline()
    read = true
    skynet.sleep(10) -- closed meanwhile: no more reads
    return true, line
  end
  local a = T.spawn(ch.request, ch, "echo a\n", slow)
  local b = T.spawn(ch.request, ch, "echo b\n", H.line)
  T.eventually(function() return read end)
  ch:close()
  T.eq(a:value(), "a")
  T.match(b:err(), "socketchannel%.lua:%d+: channel_closed$")
end)

T.test("connect to a refused port: connect(true) and request raise sc.error, log Connect failed", function()
  local port = H.refused_port()
  local ch = channel(port)
  local from = T.mark()
  local ok, e = pcall(ch.connect, ch, true)
  T.eq(ok, false)
  H.is_socket_error(e, "connect(true)")
  ok, e = pcall(ch.request, ch, "echo x\n", H.line)
  T.eq(ok, false)
  H.is_socket_error(e, "request")
  T.eq(H.my_lines(from, "^Connect failed"), {
    "Connect failed Connection refused 127.0.0.1 " .. port,
    "Connect failed Connection refused 127.0.0.1 " .. port,
  })
  T.eq(#H.my_lines(from, "^socket: connect"), 0, "one pass each, no retry loop")
  ch:close()
end)

T.test("concurrent first requests share one connection pass", function()
  local port = H.listen()
  local ch = channel(port)
  local ps = {}
  for i = 1, 5 do ps[i] = T.spawn(ch.request, ch, "echo c" .. i .. "\n", H.line) end
  for i = 1, 5 do T.eq(ps[i]:value(), "c" .. i) end
  T.eq(H.stats(port).accepted, 1)
  ch:close()
end)

T.test("a coroutine waiting for a failing pass logs Connect failed nil and gets sc.error", function()
  local port = H.refused_port()
  local ch = channel(port)
  local from = T.mark()
  local first = T.spawn(ch.request, ch, "echo x\n", H.line)  -- runs the pass
  local second = T.spawn(ch.request, ch, "echo y\n", H.line) -- waits for it
  H.is_socket_error(H.raw_error(first), "the connecting caller")
  H.is_socket_error(H.raw_error(second), "the waiting caller")
  T.eq(H.my_lines(from, "^Connect failed"), {
    "Connect failed Connection refused 127.0.0.1 " .. port,
    "Connect failed nil 127.0.0.1 " .. port,
  })
  ch:close()
end)

T.test("backups: refused primary; a string backup uses the channel port; the backup sticks", function()
  local port = H.listen() -- listens on 127.0.0.1 only: 127.0.0.2 with that port refuses
  local ch = sc.channel { host = "127.0.0.2", port = port, backup = { HOST } }
  local from = T.mark()
  T.eq(ch:connect(true), true)
  T.eq(H.my_lines(from, "^socket: connect to backup host"),
    { "socket: connect to backup host 127.0.0.1 " .. port })
  T.eq({ ch.__host, ch.__port }, { HOST, port }, "the backup is the primary now")
  T.eq(ch:request("echo b\n", H.line), "b")
  H.kick_seen(port)
  from = T.mark()
  T.eq(ch:request("echo again\n", H.line), "again")
  T.eq(#H.my_lines(from, "^socket: connect to backup host"), 0, "reconnected to it directly")
  T.eq(H.stats(port).accepted, 2)
  ch:close()
end)

T.test("backups: table entries, duplicates skipped, the primary may come again", function()
  local dead = H.refused_port()
  local port = H.listen()
  local ch = channel(dead, { backup = {
    HOST,                             -- same as the primary: tried again
    { host = HOST, port = dead },     -- duplicate of the entry above: skipped
    { host = HOST, port = port },
  } })
  local from = T.mark()
  T.eq(ch:connect(true), true)
  T.eq(H.my_lines(from, "^socket: connect to backup host"), {
    "socket: connect to backup host 127.0.0.1 " .. dead,
    "socket: connect to backup host 127.0.0.1 " .. port,
  })
  T.eq(ch.__port, port)
  ch:close()
  -- every candidate refused: the last open error
  local dead2 = H.refused_port()
  local ch2 = channel(dead, { backup = { { host = HOST, port = dead2 } } })
  from = T.mark()
  local ok, e = pcall(ch2.connect, ch2, true)
  T.eq(ok, false)
  H.is_socket_error(e)
  T.eq(H.my_lines(from, "^Connect failed"), { "Connect failed Connection refused 127.0.0.1 " .. dead })
  -- changebackup takes effect at the next pass
  ch2:changebackup { { host = HOST, port = port } }
  T.eq(ch2:connect(true), true)
  T.eq(ch2.__port, port)
  ch2:close()
end)

T.test("auth runs on every connect; a failing auth moves to the next backup; all fail -> sc.error", function()
  local a = H.listen { password = "pa" }
  local b = H.listen { password = "pb" }
  local calls = 0
  local function auth(ch)
    calls = calls + 1
    ch:request("auth pb\n", H.line)
  end
  local ch = channel(a, { auth = auth, backup = { { host = HOST, port = b } } })
  local from = T.mark()
  T.eq(ch:connect(true), true)
  T.eq(calls, 2)
  T.eq(ch.__port, b, "connected to the backup")
  local lines = H.my_lines(from, "^socket: ")
  T.eq(#lines, 2)
  T.match(lines[1], "^socket: auth failed [^ ]*socketchannel%.lua:%d+: denied$")
  T.eq(lines[2], "socket: connect to backup host 127.0.0.1 " .. b)
  T.eventually(function() return H.stats(a).open == 0 end, nil, "the failed connection closed")
  T.eq(ch:request("echo in\n", H.line), "in")
  H.kick_seen(b)
  T.eq(ch:request("echo again\n", H.line), "again")
  T.eq(calls, 3, "auth again on the reconnect")
  T.eq(H.stats(b).lines, { "auth pb", "echo in", "auth pb", "echo again" })
  ch:close()

  local bad = channel(a, { backup = { { host = HOST, port = b } }, auth = function(c)
    c:request("auth nobody\n", H.line)
  end })
  from = T.mark()
  local ok, e = pcall(bad.connect, bad, true)
  T.eq(ok, false)
  H.is_socket_error(e)
  T.eq(#H.my_lines(from, "^socket: auth failed"), 2)
  T.eq(H.my_lines(from, "^Connect failed"), { "Connect failed no more backup host 127.0.0.1 " .. b })
  ok, e = pcall(bad.request, bad, "echo x\n", H.line)
  H.is_socket_error(e, "request")
  bad:close()
end)

T.test("auth raising sc.error is not logged as auth failed", function()
  local port = H.listen()
  local ch = channel(port, { auth = function(c) c:request("close\n", H.line) end })
  local from = T.mark()
  local ok, e = pcall(ch.connect, ch, true)
  H.is_socket_error(e)
  T.eq(ok, false)
  T.eq(#H.my_lines(from, "auth failed"), 0)
  T.eq(H.my_lines(from, "^Connect failed"), { "Connect failed no more backup host 127.0.0.1 " .. port })
  ch:close()
end)

T.test("requests of other coroutines wait until auth is done; auth's own go through", function()
  local port = H.listen()
  local ch = channel(port, { auth = function(c)
    T.eq(c:request("sleep 30 +OK\n", H.line), "+OK")
  end })
  local connecting = T.spawn(ch.connect, ch, true)
  H.wait_lines(port, 1)
  local other = T.spawn(ch.request, ch, "echo other\n", H.line)
  skynet.sleep(10)
  T.eq(H.stats(port).lines, { "sleep 30 +OK" }, "nothing sent while auth runs")
  T.eq(connecting:value(), true)
  T.eq(other:value(), "other")
  T.eq(H.stats(port).accepted, 1)
  ch:close()
end)

T.test("auth calling changehost restarts the pass on the new address", function()
  local a = H.listen()
  local b = H.listen()
  local calls = 0
  local ch = channel(a, { auth = function(c)
    calls = calls + 1
    if calls == 1 then c:changehost(HOST, b) end
  end })
  T.eq(ch:connect(true), true)
  T.eq(calls, 2)
  T.eq(ch.__port, b)
  T.eq(ch:request("echo b\n", H.line), "b")
  T.eq(H.stats(a).accepted, 1)
  T.eventually(function() return H.stats(a).open == 0 end)
  T.eq(H.stats(b).accepted, 1)
  ch:close()
end)

T.test("changehost to a dead port: pending sc.error, next request sc.error; back: works", function()
  local port = H.listen()
  local dead = H.refused_port()
  local ch = channel(port)
  ch:connect(true)
  local p = T.spawn(ch.request, ch, "silent\n", H.line)
  H.wait_lines(port, 1)
  ch:changehost(HOST, dead)
  H.is_socket_error(H.raw_error(p), "pending caller")
  T.eq({ ch.__host, ch.__port }, { HOST, dead })
  local from = T.mark()
  local ok, e = pcall(ch.request, ch, "echo x\n", H.line)
  T.eq(ok, false)
  H.is_socket_error(e)
  T.eq(H.my_lines(from, "^Connect failed"), { "Connect failed Connection refused 127.0.0.1 " .. dead })
  ch:changehost(HOST, port)
  T.eq(ch:request("echo back\n", H.line), "back")
  T.eq(H.stats(port).accepted, 2)
  -- changehost without a port keeps it; host:port in host
  ch:changehost(HOST .. ":" .. port)
  T.eq(ch.__port, port)
  ch:close()
  local hp = sc.channel { host = HOST .. ":" .. port }
  T.eq(hp:request("echo hp\n", H.line), "hp")
  hp:close()
end)

T.test("order mode: a peer close while idle is logged and the next request reconnects", function()
  local port = H.listen()
  local ch = channel(port)
  T.eq(ch:request("echo a\n", H.line), "a")
  local from = T.mark()
  H.kick(port)
  T.log(T.line(skynet.self(), "socket closed by peer :  127.0.0.1 " .. port), from)
  T.eq(ch:request("echo b\n", H.line), "b")
  T.eq(H.stats(port).accepted, 2)
  T.eq(#H.my_lines(from, "disconnect detected"), 0)
  ch:close()
end)

T.test("a close the watcher missed (response fn busy) is detected before the next request", function()
  local port = H.listen()
  local ch = channel(port)
  ch:connect(true)
  local read = false
  local function slow(sock)
    local line = sock:readline()
    read = true
    skynet.sleep(20)
    return true, line
  end
  local from = T.mark()
  local p = T.spawn(ch.request, ch, "echo a\n", slow)
  T.eventually(function() return read end)
  H.kick(port)
  T.eq(p:value(), "a")
  T.eq(ch:request("echo b\n", H.line), "b")
  T.eq(H.my_lines(from, "^socket"), { "socket: disconnect detected  127.0.0.1 " .. port })
  T.eq(H.stats(port).accepted, 2)
  ch:close()
end)

T.test("a rejected write fails the caller and every pending caller with sc.error", function()
  local port = H.listen()
  local ch = channel(port)
  local fd
  T.eq(ch:request("echo a\n", function(sock) fd = sock[1]; return H.line(sock) end), "a")
  local p = T.spawn(ch.request, ch, "silent\n", H.line)
  H.wait_lines(port, 2)
  driver.close(fd)
  socket.netstat() -- the socket thread has taken the close; its CLOSE is not read yet
  local ok, e = pcall(ch.request, ch, "echo b\n", H.line)
  T.eq(ok, false)
  H.is_socket_error(e, "the writer")
  H.is_socket_error(H.raw_error(p), "the pending caller")
  T.eq(ch:request("echo c\n", H.line), "c")
  T.eq(H.stats(port).accepted, 2)
  ch:close()
end)

T.test("nodelay is applied to each new connection", function()
  local port = H.listen()
  local ch = channel(port, { nodelay = true })
  local fds = {}
  local nodelay = driver.nodelay
  driver.nodelay = function(fd) fds[#fds + 1] = fd; return nodelay(fd) end
  local ok, err = pcall(function()
    T.eq(ch:request("echo a\n", H.line), "a")
    H.kick_seen(port)
    T.eq(ch:request("echo b\n", H.line), "b")
  end)
  driver.nodelay = nodelay
  assert(ok, err)
  T.eq(#fds, 2)
  T.ok(fds[1] ~= fds[2], "two sockets")
  ch:close()
end)

T.test("socket_read / socket_readline replace the methods of the socket object", function()
  local port = H.listen()
  local used = {}
  local ch = channel(port, {
    socket_readline = function(sock, sep)
      used[#used + 1] = "readline"
      return socket.readline(sock[1], sep)
    end,
  })
  T.eq(ch:request("echo r\n", function(sock)
    T.eq(type(sock.read), "function")
    return true, sock:readline()
  end), "r")
  T.eq(used, { "readline" })
  ch:close()
end)

T.test("a channel nobody holds is collected and its finalizer closes the connection", function()
  local port = H.listen()
  H.collected_and_closed(port, function()
    local fd
    local ch = channel(port)
    T.eq(ch:request("echo gc\n", function(sock) fd = sock[1]; return H.line(sock) end), "gc")
    return ch, fd
  end)
end)

T.start()
