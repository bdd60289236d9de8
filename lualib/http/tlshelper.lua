-- Read/write closures that run TLS (the native `ltls.c` module) over a skynet socket, in the
-- shape http.sockethelper gives plain sockets.
local socket = require "skynet.socket"
local sockethelper = require "http.sockethelper"
local c = require "ltls.c"

local M = {}

local function read_raw(fd)
  local data = socket.read(fd)
  if not data then error(sockethelper.socket_error("read failed fd = " .. fd)) end
  return data
end

local function write_raw(fd, data)
  if data and #data > 0 and not socket.write(fd, data) then
    error(sockethelper.socket_error("write failed fd = " .. fd))
  end
end

-- Client handshake: init(hostname) sends the ClientHello and runs until finished.
function M.init_requestfunc(fd, tls)
  return function(hostname)
    if hostname then tls:set_ext_host_name(hostname) end
    write_raw(fd, tls:handshake())
    while not tls:finished() do
      write_raw(fd, tls:handshake(read_raw(fd)))
    end
  end
end

-- Server handshake: init() answers the client until finished.
function M.init_responsefunc(fd, tls)
  return function()
    while not tls:finished() do
      write_raw(fd, tls:handshake(read_raw(fd)))
    end
    write_raw(fd, tls:write(""))
  end
end

function M.closefunc(tls)
  return function() tls:close() end
end

-- read() returns what is decrypted so far (waiting for some), read(n) exactly n bytes.
-- `pre` is plaintext already taken from the connection.
function M.readfunc(fd, tls, pre)
  local buffer = pre or ""
  return function(sz)
    if not sz then
      while buffer == "" do buffer = tls:read(read_raw(fd)) end
      local out = buffer
      buffer = ""
      return out
    end
    while #buffer < sz do buffer = buffer .. tls:read(read_raw(fd)) end
    local out = buffer:sub(1, sz)
    buffer = buffer:sub(sz + 1)
    return out
  end
end

function M.writefunc(fd, tls)
  return function(plain) write_raw(fd, tls:write(plain)) end
end

function M.readallfunc(fd, tls)
  return function()
    local data = socket.readall(fd)
    return tls:read(data or "")
  end
end

function M.newctx()
  return c.newctx()
end

function M.newtls(method, ctx, hostname)
  return c.newtls(method, ctx, hostname)
end

return M
