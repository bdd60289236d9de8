-- snax.loginserver and snax.msgserver with a client written here (skynet.socket +
-- skynet.crypt): the whole handshake, the login answers (200/401/403/406), the message
-- server's handshake answers, its packet layout and its answer cache across reconnects,
-- and clients that break the protocol.
local skynet = require "skynet"
local socket = require "skynet.socket"
local crypt = require "skynet.crypt"
local msgserver = require "snax.msgserver"
local T = require "testlib"

local b64encode, b64decode = crypt.base64encode, crypt.base64decode
local spack, sunpack = string.pack, string.unpack

local login_port, gate_port

local function free_port()
  local id, _, port = socket.listen("127.0.0.1", 0)
  socket.close(id)
  return port
end

local function token(user, server, password)
  return string.format("%s@%s:%s", b64encode(user), b64encode(server), b64encode(password))
end

-- Runs the login exchange; opts may replace the client key, the hmac, or stop after a step.
-- Returns the result line (nil when the server closed first) and the secret.
local function login(user, opts)
  opts = opts or {}
  local fd = socket.open("127.0.0.1", login_port)
  local challenge = b64decode(assert(socket.readline(fd)))
  local clientkey = crypt.randomkey()
  socket.write(fd, (opts.key or b64encode(crypt.dhexchange(clientkey))) .. "\n")
  if opts.key then
    local line = socket.readline(fd)
    socket.close(fd)
    return line
  end
  local secret = crypt.dhsecret(b64decode(assert(socket.readline(fd))), clientkey)
  if opts.close_after_key then
    socket.close(fd)
    return nil, secret
  end
  socket.write(fd, b64encode(opts.hmac or crypt.hmac64(challenge, secret)) .. "\n")
  local server = opts.server or "sample"
  socket.write(fd, b64encode(crypt.desencode(secret, token(user, server, opts.password or "password"))) .. "\n")
  local result = socket.readline(fd)
  socket.close(fd)
  return result, secret
end

local function send_packet(fd, payload)
  socket.write(fd, spack(">s2", payload))
end

local function read_packet(fd)
  local head = socket.read(fd, 2)
  if not head then return nil end
  return socket.read(fd, sunpack(">I2", head))
end

local function gate_connect(username, index, secret, hmac)
  local fd = socket.open("127.0.0.1", gate_port)
  local text = username .. ":" .. index
  hmac = hmac or crypt.hmac64(crypt.hashkey(text), secret)
  send_packet(fd, text .. ":" .. b64encode(hmac))
  return fd, read_packet(fd)
end

local function request(fd, content, session)
  send_packet(fd, content .. spack(">I4", session))
end

-- -> content, ok, session
local function response(fd)
  local p = assert(read_packet(fd), "connection closed")
  local content, ok, session = sunpack("c" .. (#p - 5) .. "B>I4", p)
  return content, ok == 1, session
end

local function username(user, subid_line)
  local subid = b64decode(subid_line:sub(5))
  return msgserver.username(user, subid, "sample"), subid
end

T.test("setup: login server and message server listen", function()
  login_port, gate_port = free_port(), free_port()
  local from = T.mark()
  local logind = skynet.newservice("login_logind", login_port)
  T.log("login server listen at : 127%.0%.0%.1 " .. login_port .. "$", from)
  T.eq(skynet.localname ".test_login", logind)
  local gate = skynet.newservice("login_gated", logind)
  skynet.call(gate, "lua", "open", { address = "127.0.0.1", port = gate_port, servername = "sample" })
end)

local alice = {}

T.test("login: 200 and a subid; the secret works at the message server", function()
  local result, secret = login "alice"
  T.eq(result, "200 " .. b64encode "1")
  alice.secret = secret
  alice.username = username("alice", result)
  T.eq(table.pack(msgserver.userid(alice.username)), table.pack("alice", "1", "sample"))
  local fd, answer = gate_connect(alice.username, 1, secret)
  T.eq(answer, "200 OK")
  request(fd, "one", 10)
  T.eq(read_packet(fd), "one\1\0\0\0\10", "content, u8 ok, u32 session")
  request(fd, "fail", 11)
  T.eq({ response(fd) }, { "", false, 11 })
  request(fd, "ip", 12)
  T.match((response(fd)), "^127%.0%.0%.1:%d+$")
  socket.close(fd)
end)

T.test("a reconnect with a higher index gets the answers it missed", function()
  local fd = gate_connect(alice.username, 2, alice.secret)
  request(fd, "echo", 0)
  socket.close(fd) -- without reading the answer
  local from = T.mark()
  T.log("AFK " .. T.esc(alice.username) .. "$", from)
  local answer
  fd, answer = gate_connect(alice.username, 3, alice.secret)
  T.eq(answer, "200 OK")
  request(fd, "fake", 0) -- the same session: the cached answer comes back
  request(fd, "again", 1)
  T.eq({ response(fd) }, { "echo", true, 0 })
  T.eq({ response(fd) }, { "again", true, 1 })
  request(fd, "new", 0) -- the same session under the same version: a new request
  T.eq({ response(fd) }, { "new", true, 0 })
  -- a request still running when the client reconnects is answered on the new connection
  request(fd, "slow", 5)
  skynet.sleep(20)
  socket.close(fd)
  fd, answer = gate_connect(alice.username, 4, alice.secret)
  T.eq(answer, "200 OK")
  request(fd, "ignored", 5)
  T.eq({ response(fd) }, { "slow", true, 5 })
  socket.close(fd)
end, 1500)

T.test("message server handshake refusals: 404, 400, 403, 401; the connection is closed", function()
  local fd, answer = gate_connect("nobody", 9, alice.secret)
  T.eq(answer, "404 User Not Found")
  T.eq(read_packet(fd), nil, "closed")
  local from = T.mark()
  fd, answer = gate_connect(alice.username, "x", alice.secret)
  T.eq(answer, "400 Bad Request")
  T.log("assertion failed!$", from)
  fd, answer = gate_connect(alice.username, 4, alice.secret)
  T.eq(answer, "403 Index Expired")
  fd, answer = gate_connect(alice.username, 9, alice.secret, "12345678")
  T.eq(answer, "401 Unauthorized")
  T.eq(read_packet(fd), nil, "closed")
end)

T.test("a session repeated twice while running: Conflict session, connection closed", function()
  local fd, answer = gate_connect(alice.username, 10, alice.secret)
  T.eq(answer, "200 OK")
  local from = T.mark()
  request(fd, "slow", 20)
  request(fd, "slow", 20)
  request(fd, "slow", 20)
  T.log("Conflict session 3230$", from)
  T.log("Invalid package .*conflict session 20 : ", from)
  T.eq(read_packet(fd), nil, "closed")
  socket.close(fd)
  local fd2
  fd2, answer = gate_connect(alice.username, 11, alice.secret)
  T.eq(answer, "200 OK", "the user may come back")
  T.eq({ response(fd2) }, { "slow", true, 20 }, "the running answer reaches the new connection")
  socket.close(fd2)
end, 1500)

T.test("answers older than expired_number (128) requests are dropped every 256", function()
  local fd, answer = gate_connect(alice.username, 30, alice.secret)
  T.eq(answer, "200 OK")
  request(fd, "fastold", 7777)
  T.eq({ response(fd) }, { "fastold", true, 7777 })
  for session = 1000, 1299 do request(fd, "fast" .. session, session) end
  for session = 1000, 1299 do T.eq({ response(fd) }, { "fast" .. session, true, session }) end
  socket.close(fd)
  fd, answer = gate_connect(alice.username, 31, alice.secret)
  T.eq(answer, "200 OK")
  request(fd, "fastnew", 7777) -- dropped from the cache: a new request
  T.eq({ response(fd) }, { "fastnew", true, 7777 })
  request(fd, "ignored", 1299) -- still cached: the old answer
  T.eq({ response(fd) }, { "fast1299", true, 1299 })
  socket.close(fd)
end, 2000)

T.test("a second login kicks the first session; its subid changes", function()
  local result, secret = login "alice"
  T.eq(result, "200 " .. b64encode "2")
  local fd, answer = gate_connect(alice.username, 20, alice.secret)
  T.eq(answer, "404 User Not Found", "the old username is gone")
  socket.close(fd)
  fd, answer = gate_connect(username("alice", result), 1, secret)
  T.eq(answer, "200 OK")
  socket.close(fd)
end)

T.test("login refusals: 401 for a bad password or challenge, 403 unknown server, 406 twice", function()
  local from = T.mark()
  T.eq((login("bob", { password = "wrong" })), "401 Unauthorized")
  T.log("invalid client %(fd = %d+%) error = .*Invalid password$", from)
  T.eq((login("bob", { hmac = "12345678" })), "401 Unauthorized")
  T.log("invalid client %(fd = %d+%) error = .*challenge failed$", from)
  T.eq((login("bob", { server = "elsewhere" })), "403 Forbidden")
  T.log("invalid client %(fd = %d+%) error = .*Unknown server$", from)
  local first = T.spawn(login, "slow")
  skynet.sleep(30)
  T.eq((login "slow"), "406 Not Acceptable")
  T.log("invalid client %(fd = %d+%) error = User slow is already login$", from)
  T.match(first:value(), "^200 ")
end, 1500)

T.test("broken clients: a short key, a client leaving mid-exchange; the server goes on", function()
  local from = T.mark()
  T.eq((login("bob", { key = b64encode "short" })), "401 Unauthorized")
  T.log("invalid client %(fd = %d+%) error = .*Invalid client key$", from)
  login("bob", { close_after_key = true })
  T.log("challenge failed: socket %(fd = %d+%) closed$", from)
  T.log("invalid client %(fd = %d+%) error = socket error$", from)
  local fd = socket.open("127.0.0.1", login_port)
  socket.readline(fd)
  socket.write(fd, ("x"):rep(20000)) -- a line longer than the slave's limit, never ended
  socket.close(fd)
  T.match((login "carol"), "^200 ")
end, 1500)

T.start()
