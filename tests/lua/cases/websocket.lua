-- http.websocket over loopback: an echo server and the client in this service, raw sockets
-- for the handshake refusals and bad frames.
local skynet = require "skynet"
local socket = require "skynet.socket"
local websocket = require "http.websocket"
local T = require "testlib"

local port
local events = {} -- "<callback> <details>" in call order
local results = {} -- accept's return values per connection, in end order

local handle = {}
function handle.connect(id) events[#events + 1] = "connect" end
function handle.handshake(id, header, url) events[#events + 1] = "handshake " .. url end
function handle.message(id, data, op)
  events[#events + 1] = "message " .. op .. " " .. #data
  if data == "close me" then
    websocket.close(id, 4000, "bye")
  else
    websocket.write(id, data, op)
  end
end
function handle.ping(id) events[#events + 1] = "ping" end
function handle.pong(id) events[#events + 1] = "pong" end
function handle.close(id, code, reason)
  events[#events + 1] = "close " .. tostring(code) .. " " .. tostring(reason)
end
function handle.error(id) events[#events + 1] = "error" end

local function has_event(text)
  for _, e in ipairs(events) do if e == text then return true end end
  return false
end

local KEY = "MDEyMzQ1Njc4OWFiY2RlZg=="
local function upgrade_request(extra)
  return "GET /raw HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    .. "Sec-WebSocket-Key: " .. KEY .. "\r\nSec-WebSocket-Version: 13\r\n" .. (extra or "")
    .. "\r\n"
end
local ACCEPTED = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
  .. "Connection: Upgrade\r\nSec-WebSocket-Accept: BACScCJPNqyz+UBoqMH89VmURoA=\r\n\r\n"

local function raw(...)
  local id = assert(socket.open("127.0.0.1", port))
  for _, piece in ipairs({ ... }) do socket.write(id, piece) end
  local reply = socket.readall(id)
  socket.close(id)
  return reply
end

local function frame(op, payload, masked, fin)
  local b1 = (fin == false and 0 or 0x80) | op
  local len = #payload
  local head
  if len < 126 then
    head = string.pack("BB", b1, (masked and 0x80 or 0) | len)
  elseif len <= 0xffff then
    head = string.pack(">BBI2", b1, (masked and 0x80 or 0) | 126, len)
  else
    head = string.pack(">BBI8", b1, (masked and 0x80 or 0) | 127, len)
  end
  if not masked then return head .. payload end
  local key = "\1\2\3\4"
  local out = {}
  for i = 1, len do
    out[i] = string.char(payload:byte(i) ~ key:byte((i - 1) % 4 + 1))
  end
  return head .. key .. table.concat(out)
end

T.test("setup: a websocket echo server", function()
  local listener
  listener, _, port = socket.listen("127.0.0.1", 0)
  socket.start(listener, function(id, addr)
    skynet.fork(function()
      results[#results + 1] = { websocket.accept(id, handle, "ws", addr) }
    end)
  end)
end)

T.test("client: echo text and binary, ping, close with a code", function()
  local id = websocket.connect("ws://127.0.0.1:" .. port .. "/cap")
  T.eq(websocket.is_close(id), false)
  websocket.write(id, "hello")
  T.eq(websocket.read(id), "hello")
  websocket.write(id, "\0\1\2", "binary", 0x12345678)
  T.eq(websocket.read(id), "\0\1\2")
  local big = string.rep("z", 262144)
  websocket.write(id, big, "binary")
  T.eq(websocket.read(id), big)
  websocket.ping(id)
  websocket.write(id, "after ping")
  T.eq(websocket.read(id), "after ping")
  T.ok(has_event("handshake /cap"), "handshake callback with the url")
  T.ok(has_event("ping"), "ping callback")
  websocket.write(id, "close me")
  local ok, payload = websocket.read(id)
  T.eq(ok, false)
  T.eq(payload, "\x0f\xa0bye")
  T.eq(websocket.is_close(id), true)
  T.eventually(function() return #results == 1 end, 500, "accept returned")
  T.eq(results[1], { true })
  T.raises("invalid protocol: nil", websocket.connect, "http://127.0.0.1:1/")
end)

T.test("server: raw handshake and frames, fragments, close code", function()
  local id = assert(socket.open("127.0.0.1", port))
  socket.write(id, upgrade_request())
  T.eq(socket.read(id, #ACCEPTED), ACCEPTED)
  -- a fragmented unmasked message with a ping between the fragments
  socket.write(id, frame(1, "ab", false, false) .. frame(9, "p", true)
    .. frame(0, "cd", true))
  T.eq(socket.read(id, 3), "\x8a\x01p", "pong first")
  T.eq(socket.read(id, 6), "\x81\x04abcd")
  socket.write(id, frame(8, "\x03\xe8done", true))
  T.eq(socket.read(id, 2), "\x88\x00")
  T.eq(socket.readall(id), "")
  socket.close(id)
  T.eventually(function() return has_event("close 1000 done") end, 500, "close callback")
end)

T.test("handshake refusals", function()
  T.eq(raw((upgrade_request():gsub("^GET", "POST"))),
    "HTTP/1.1 400 Bad Request\r\ncontent-length: 15\r\n\r\nneed GET method")
  T.eq(raw((upgrade_request():gsub("HTTP/1.1", "HTTP/1.0"))),
    "HTTP/1.1 505 HTTP Version not supported\r\n\r\n")
  T.eq(raw((upgrade_request():gsub("Upgrade: websocket\r\n", ""))),
    "HTTP/1.1 426 \r\ncontent-length: 16\r\n\r\nUpgrade Required")
  T.eq(raw((upgrade_request():gsub("Sec%-WebSocket%-Version: 13", "Sec-WebSocket-Version: 8"))),
    "HTTP/1.1 400 Bad Request\r\ncontent-length: 29\r\n\r\nSec-WebSocket-Version must 13")
  T.eq(raw(upgrade_request("Sec-WebSocket-Protocol: x\r\n")),
    "HTTP/1.1 400 Bad Request\r\ncontent-length: 40\r\n\r\n"
    .. "Sec-WebSocket-Protocol need include chat")
  T.eq(raw((upgrade_request():gsub(KEY, "c2hvcnQ="))),
    "HTTP/1.1 400 Bad Request\r\ncontent-length: 25\r\n\r\nSec-WebSocket-Key invalid")
  T.eq(raw("GET / HTTP/1.1\r\n", string.rep("h", 9000)),
    "HTTP/1.1 413 Request Entity Too Large\r\n\r\n")
end)

T.test("bad frames: over the limit, unknown opcode, peer gone; others unharmed", function()
  local before = #results
  -- a header announcing 262145 bytes ends the connection before any payload is read
  T.eq(raw(upgrade_request(), frame(2, "", true):sub(1, 1) .. "\xff"
    .. string.pack(">I8", 262145)), ACCEPTED)
  T.eventually(function() return #results == before + 1 end, 500, "accept returned")
  T.eq(results[#results][1], false)
  T.match(results[#results][2], "payload_len is too large")
  -- fragments adding up to more than the limit
  local half = string.rep("x", 131073)
  T.eq(raw(upgrade_request(), frame(2, half, true, false), frame(0, half, true)), ACCEPTED)
  T.eventually(function() return #results == before + 2 end, 500, "accept returned")
  T.match(results[#results][2], "payload_len is too large")
  -- opcode 3 is reserved
  T.eq(raw(upgrade_request(), frame(3, "x", true)), ACCEPTED)
  T.eventually(function() return #results == before + 3 end, 500, "accept returned")
  T.eq(results[#results][1], false)
  T.match(results[#results][2], "assertion failed!")
  -- the peer goes away without a close frame
  local gone = assert(socket.open("127.0.0.1", port))
  socket.write(gone, upgrade_request())
  T.eq(socket.read(gone, #ACCEPTED), ACCEPTED)
  socket.close(gone)
  T.eventually(function() return #results == before + 4 end, 500, "accept returned")
  T.eq(results[#results], { true })
  T.ok(has_event("error"), "error callback")
  local id = websocket.connect("ws://127.0.0.1:" .. port)
  websocket.write(id, "still here")
  T.eq(websocket.read(id), "still here")
  websocket.close(id)
end)

T.start()
