-- RFC 6455 WebSocket over skynet.socket: a server (`accept`, the whole connection runs in the
-- caller's coroutine) and a client (`connect` + `read`); ws and wss (through http.tlshelper).
local skynet = require "skynet"
local crypt = require "skynet.crypt"
local socket = require "skynet.socket"
local sockethelper = require "http.sockethelper"
local internal = require "http.internal"

local M = {}

local MAX_PAYLOAD = 262144 -- bytes per frame and per reassembled message
local GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

local OP_CONTINUATION, OP_TEXT, OP_BINARY = 0, 1, 2
local OP_CLOSE, OP_PING, OP_PONG = 8, 9, 10
local op_name = { [OP_TEXT] = "text", [OP_BINARY] = "binary" }
local op_code = { text = OP_TEXT, binary = OP_BINARY }

local pool = {} -- socket id -> connection { id, read, write, close, addr, real_ip, ... }

local server_ctx -- wss server context of this service, made by the first wss accept
local client_ctx

local function tlshelper() return require "http.tlshelper" end

local function encode_frame(op, payload, mask)
  local len = #payload
  local head
  local maskbit = mask and 0x80 or 0
  if len < 126 then
    head = string.pack("BB", 0x80 | op, maskbit | len)
  elseif len <= 0xffff then
    head = string.pack(">BBI2", 0x80 | op, maskbit | 126, len)
  else
    head = string.pack(">BBI8", 0x80 | op, maskbit | 127, len)
  end
  if mask then
    local key = string.pack(">I4", mask & 0xffffffff)
    return head .. key .. crypt.xor_str(payload, key)
  end
  return head .. payload
end

local function send_frame(ws, op, payload, mask)
  ws.write(encode_frame(op, payload or "", mask))
end

-- One frame: fin, opcode, payload (unmasked). Raises on oversized payloads.
local function read_frame(ws)
  local b1, b2 = string.unpack("BB", ws.read(2))
  local fin = b1 & 0x80 ~= 0
  local op = b1 & 0x0f
  local len = b2 & 0x7f
  if len == 126 then
    len = string.unpack(">I2", ws.read(2))
  elseif len == 127 then
    len = string.unpack(">I8", ws.read(8))
  end
  if len < 0 or len > MAX_PAYLOAD then error("payload_len is too large") end
  local key = b2 & 0x80 ~= 0 and ws.read(4)
  local payload = len > 0 and ws.read(len) or ""
  if key then payload = crypt.xor_str(payload, key) end
  return fin, op, payload
end

local function close_payload(code, reason)
  if not code then return "" end
  return string.pack(">I2", code) .. (reason or "")
end

local function forget(ws)
  if pool[ws.id] == ws then pool[ws.id] = nil end
  ws.closed = true
  ws.close()
end

local function connection(id, read, write, close, addr)
  local ws = { id = id, read = read, write = write, close = close, addr = addr }
  pool[id] = ws
  return ws
end

-- Server ------------------------------------------------------------------------------------

local function http_reply(ws, code, body)
  local reason = ({ [400] = "Bad Request", [413] = "Request Entity Too Large",
    [426] = "", [505] = "HTTP Version not supported" })[code]
  local out = string.format("HTTP/1.1 %03d %s\r\n", code, reason)
  if body then
    out = out .. string.format("content-length: %d\r\n\r\n%s", #body, body)
  else
    out = out .. "\r\n"
  end
  ws.write(out)
end

local function has_token(value, token)
  return type(value) == "string" and value:lower():find(token, 1, true) ~= nil
end

-- Returns header, url or code [, body] for a refused handshake.
local function read_upgrade(ws, upgrade)
  local header, method, url
  if upgrade then
    header, method, url = upgrade.header, upgrade.method, upgrade.url
  else
    local lines = {}
    local rest = internal.recvheader(ws.read, lines, "")
    if not rest then return nil, 413 end
    -- bytes that came with the request belong to the first frame
    if rest ~= "" then ws.read = ws.reread(rest) end
    local version
    method, url, version = lines[1]:match("^(%a+)%s+(.-)%s+HTTP/([%d%.]+)$")
    assert(method and url and version)
    if method ~= "GET" then return nil, 400, "need GET method" end
    if (tonumber(version) or 0) < 1.1 then return nil, 505 end
    header = internal.parseheader(lines, 2, {})
    if not header then return nil, 400 end
  end
  if method ~= "GET" then return nil, 400, "need GET method" end
  if not header.upgrade or header.upgrade:lower() ~= "websocket" then
    return nil, 426, "Upgrade Required"
  end
  if not header.host then return nil, 400, "host Required" end
  if not has_token(header.connection, "upgrade") then
    return nil, 400, "Connection must Upgrade"
  end
  local key = header["sec-websocket-key"]
  if not key then return nil, 400, "Sec-WebSocket-Key Required" end
  local ok, raw = pcall(crypt.base64decode, key)
  if not ok or #raw ~= 16 then return nil, 400, "Sec-WebSocket-Key invalid" end
  if header["sec-websocket-version"] ~= "13" then
    return nil, 400, "Sec-WebSocket-Version must 13"
  end
  local protocol = header["sec-websocket-protocol"]
  local chat = false
  if protocol then
    for item in protocol:gmatch("[^%s,]+") do
      if item == "chat" then chat = true end
    end
    if not chat then return nil, 400, "Sec-WebSocket-Protocol need include chat" end
  end
  local accept = crypt.base64encode(crypt.sha1(key .. GUID))
  ws.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    .. "Sec-WebSocket-Accept: " .. accept .. "\r\n"
    .. (chat and "Sec-WebSocket-Protocol: chat\r\n" or "") .. "\r\n")
  ws.real_ip = header["x-real-ip"]
  return header, url
end

local function call(handle, name, ...)
  local f = handle[name]
  if f then f(...) end
end

local function serve_frames(ws, handle)
  local id = ws.id
  local parts, first_op, total = nil, nil, 0
  while true do
    local fin, op, payload = read_frame(ws)
    if op == OP_CLOSE then
      local code, reason
      if #payload > 2 then code, reason = string.unpack(">I2", payload), payload:sub(3) end
      pcall(send_frame, ws, OP_CLOSE, "")
      forget(ws)
      call(handle, "close", id, code, reason)
      return
    elseif op == OP_PING then
      send_frame(ws, OP_PONG, payload)
      call(handle, "ping", id)
    elseif op == OP_PONG then
      call(handle, "pong", id)
    else
      assert(op == OP_TEXT or op == OP_BINARY or (op == OP_CONTINUATION and parts))
      if op ~= OP_CONTINUATION then parts, first_op, total = {}, op, 0 end
      total = total + #payload
      if total > MAX_PAYLOAD then error("payload_len is too large") end
      parts[#parts + 1] = payload
      if fin then
        local data = table.concat(parts)
        parts = nil
        call(handle, "message", id, data, op_name[first_op])
      end
    end
    if ws.closed then
      call(handle, "close", id)
      return
    end
  end
end

local function server_tls()
  local helper = tlshelper()
  if not server_ctx then
    server_ctx = helper.newctx()
    server_ctx:set_cert(skynet.getenv("certfile") or "./server-cert.pem",
      skynet.getenv("keyfile") or "./server-key.pem")
  end
  return helper.newtls("server", server_ctx)
end

function M.accept(id, handle, protocol, addr, options)
  protocol = protocol or "ws"
  options = options or {}
  if not options.upgrade then
    local ok, err = socket.start(id)
    if not ok then return false, err end
  end
  local ws
  local ok, err = xpcall(function()
    if protocol == "wss" then
      local helper = tlshelper()
      local tls = server_tls()
      ws = connection(id, helper.readfunc(id, tls), helper.writefunc(id, tls),
        function() tls:close() socket.close(id) end, addr)
      ws.reread = function(rest) return helper.readfunc(id, tls, rest) end
      call(handle, "connect", id)
      helper.init_responsefunc(id, tls)()
    else
      assert(protocol == "ws", "invalid protocol")
      ws = connection(id, sockethelper.readfunc(id), sockethelper.writefunc(id),
        function() socket.close(id) end, addr)
      ws.reread = function(rest) return sockethelper.readfunc(id, rest) end
      call(handle, "connect", id)
    end
    if handle.warning then
      socket.warning(id, function(_, size) handle.warning(ws, size) end)
    end
    local header, url, body = read_upgrade(ws, options.upgrade)
    if not header then
      pcall(http_reply, ws, url, body)
      forget(ws)
      call(handle, "close", id)
      return
    end
    call(handle, "handshake", id, header, url)
    serve_frames(ws, handle)
  end, debug.traceback)
  if ok then return true end
  if ws and not ws.closed then forget(ws) end
  if err == sockethelper.socket_error or (type(err) == "string"
      and err:find("[Socket Error]", 1, true)) then
    call(handle, "error", id)
    return true
  end
  return false, err
end

-- Client ------------------------------------------------------------------------------------

local function client_handshake(ws, host, path, header)
  local key = crypt.base64encode(crypt.randomkey() .. crypt.randomkey())
  local fields = {
    ["Upgrade"] = "websocket", ["Connection"] = "Upgrade", ["Sec-WebSocket-Version"] = "13",
    ["Sec-WebSocket-Key"] = key, ["Host"] = host,
  }
  if header then
    for name, value in pairs(header) do
      assert(fields[name] == nil, name)
      fields[name] = value
    end
  end
  local out = { "GET " .. path .. " HTTP/1.1\r\n" }
  for name, value in pairs(fields) do out[#out + 1] = name .. ":" .. value .. "\r\n" end
  out[#out + 1] = "Content-length:0\r\n\r\n"
  ws.write(table.concat(out))

  local lines = {}
  local rest = internal.recvheader(ws.read, lines, "")
  if not rest then error("websocket handshake error: header too large") end
  local code = tonumber(lines[1]:match("^HTTP/[%d%.]+%s+(%d+)"))
  local got = internal.parseheader(lines, 2, {})
  if not code or not got then error("websocket handshake error: invalid response") end
  if code ~= 101 then
    error(string.format("websocket handshake error: code[%s] info:%s", code, rest))
  end
  if not got.upgrade or got.upgrade:lower() ~= "websocket" then
    error("websocket handshake upgrade must websocket")
  end
  if not got.connection or got.connection:lower() ~= "upgrade" then
    error("websocket handshake connection must upgrade")
  end
  local accept = got["sec-websocket-accept"]
  if not accept then error("websocket handshake need Sec-WebSocket-Accept") end
  if accept ~= crypt.base64encode(crypt.sha1(key .. GUID)) then
    error("websocket handshake invalid Sec-WebSocket-Accept")
  end
  return rest
end

function M.connect(url, header, timeout)
  local scheme, hostport, path = url:match("^(wss?)://([^/]+)(.*)$")
  if not scheme then
    error("invalid protocol: " .. tostring(url:match("^(wss?)://")))
  end
  if path == "" then path = "/" end
  local host, port = hostport:match("^(.-):(%d+)$")
  if not host then host = hostport end
  host = host:match("^%[(.*)%]$") or host
  port = tonumber(port) or (scheme == "wss" and 443 or 80)
  local id = sockethelper.connect(host, port, timeout)
  local ok, err = pcall(function()
    local ws
    if scheme == "wss" then
      local helper = tlshelper()
      client_ctx = client_ctx or helper.newctx()
      local sni = not host:match("%d$") and host or nil
      local tls = helper.newtls("client", client_ctx, sni)
      helper.init_requestfunc(id, tls)(sni)
      local read = helper.readfunc(id, tls)
      ws = connection(id, read, helper.writefunc(id, tls),
        function() tls:close() socket.close(id) end, nil)
      local rest = client_handshake(ws, host, path, header)
      if rest ~= "" then ws.read = helper.readfunc(id, tls, rest) end
    else
      ws = connection(id, sockethelper.readfunc(id), sockethelper.writefunc(id),
        function() socket.close(id) end, nil)
      local rest = client_handshake(ws, host, path, header)
      if rest ~= "" then ws.read = sockethelper.readfunc(id, rest) end
    end
    ws.client = true
  end)
  if not ok then
    local ws = pool[id]
    if ws then forget(ws) else socket.close(id) end
    error(err, 0)
  end
  return id
end

-- Returns the next message, or false and the raw close payload.
function M.read(id)
  local ws = assert(pool[id])
  local parts = nil
  while true do
    local fin, op, payload = read_frame(ws)
    if op == OP_CLOSE then
      forget(ws)
      return false, payload
    elseif op == OP_PING then
      send_frame(ws, OP_PONG, payload)
    elseif op == OP_PONG then -- luacheck: ignore 542
      -- nothing to do: pings are not tracked
    else
      assert(op == OP_TEXT or op == OP_BINARY or (op == OP_CONTINUATION and parts))
      if op ~= OP_CONTINUATION then parts = {} end
      parts[#parts + 1] = payload
      if fin then return table.concat(parts) end
    end
  end
end

-- Shared ------------------------------------------------------------------------------------

function M.write(id, data, fmt, mask)
  local ws = assert(pool[id])
  local op = assert(op_code[fmt or "text"])
  send_frame(ws, op, data, mask)
end

function M.ping(id)
  local ws = assert(pool[id])
  send_frame(ws, OP_PING, "")
end

function M.close(id, code, reason)
  local ws = pool[id]
  if not ws then return end
  local ok, err = xpcall(send_frame, debug.traceback, ws, OP_CLOSE, close_payload(code, reason))
  if not ok then skynet.error(err) end
  forget(ws)
end

function M.addrinfo(id)
  local ws = pool[id]
  return ws and ws.addr
end

function M.real_ip(id)
  local ws = pool[id]
  return ws and ws.real_ip
end

function M.is_close(id)
  return pool[id] == nil
end

return M
