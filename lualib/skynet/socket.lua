-- skynet.socket: blocking-style socket reads for the coroutines of a service.
--
-- The service keeps one object per socket it reads ("pooled" ids). Socket messages fill the
-- object's buffer and wake the one coroutine that waits on it; every wait goes through
-- skynet.wait / skynet.wakeup, so readers resume after the message handler, never inside it.

local driver = require "skynet.socketdriver"
local skynet = require "skynet"

local assert = assert
local error = error
local pairs = pairs
local format = string.format
local running = coroutine.running

-- A socket whose unread bytes pass this is paused until somebody reads.
local BUFFER_LIMIT = 128 * 1024

local socket = {}

-- Pooled sockets by id. When the service's state is collected every one of them is closed.
local pool = setmetatable({}, {
  __gc = function(objects)
    for id in pairs(objects) do
      driver.close(id)
      objects[id] = nil
    end
  end,
})
local onclose = {} -- id -> callback(id), for pooled and unpooled ids alike
local readers = {} -- the driver's pool argument: a table asks readline to take the line

local function wake(s)
  local co = s.co
  if co then
    s.co = nil
    skynet.wakeup(co)
  end
end

-- Stops reading a socket whose buffer grew too much; the next read resumes it.
local function pause(s, size)
  if s.pause then
    return
  end
  if size then
    skynet.error(format("Pause socket (%d) size : %d", s.id, size))
  else
    skynet.error(format("Pause socket (%d)", s.id))
  end
  driver.pause(s.id)
  s.pause = true
  skynet.yield() -- messages already queued for the socket are handled before we go on
end

-- Blocks the running coroutine until a socket message wakes it.
local function wait(s)
  assert(not s.co)
  local co = running()
  s.co = co
  if s.pause then
    skynet.error(format("Resume socket (%d)", s.id))
    driver.start(s.id)
    skynet.wait(co)
    s.pause = nil
  else
    skynet.wait(co)
  end
  -- socket.close waits for the reader it interrupted before it drops the object
  if s.closing then
    skynet.wakeup(s.closing)
  end
end

-- ---- socket messages ------------------------------------------------------------------------

local on = {}

on[1] = function(id, size, data) -- DATA
  local s = pool[id]
  if s == nil then
    skynet.error("socket: drop package from " .. id)
    driver.drop(data, size)
    return
  end
  local total = driver.push(s.buffer, readers, data, size)
  local need = s.read_required
  if type(need) == "number" then
    if total >= need then
      s.read_required = nil
      if total > BUFFER_LIMIT then
        pause(s, total)
      end
      wake(s)
    end
    return
  end
  local limit = s.buffer_limit
  if limit and total > limit then
    skynet.error(format("socket buffer overflow: fd=%d size=%d", id, total))
    driver.close(id)
    return
  end
  if type(need) == "string" then
    if driver.readline(s.buffer, nil, need) then
      s.read_required = nil
      if total > BUFFER_LIMIT then
        pause(s, total)
      end
      wake(s)
    elseif s.line_limit and total > s.line_limit then
      s.read_required = nil
      s.line_limit = false -- the reader raises
      wake(s)
    end
  elseif total > BUFFER_LIMIT and not s.pause then
    pause(s, total)
  end
end

on[2] = function(id, port, address) -- CONNECT
  local s = pool[id]
  if s == nil or s.connected then
    return -- e.g. the "transfer" that resuming a paused socket produces
  end
  if s.listen then
    s.address = address
    s.port = port
  end
  s.connected = true
  wake(s)
end

on[3] = function(id) -- CLOSE
  local s = pool[id]
  if s then
    s.connected = false
    wake(s)
  else
    driver.close(id)
  end
  local callback = onclose[id]
  if callback then
    onclose[id] = nil
    callback(id)
  end
end

on[4] = function(listener, id, address) -- ACCEPT
  local s = pool[listener]
  if s == nil then
    driver.close(id)
    return
  end
  s.callback(id, address)
end

on[5] = function(id, _, err) -- ERROR
  local s = pool[id]
  if s == nil then
    driver.shutdown(id)
    skynet.error("socket: error on unknown", id, err)
    return
  end
  if s.callback then
    skynet.error("socket: accept error:", err)
    return
  end
  if s.connected then
    skynet.error("socket: error on", id, err)
  elseif s.connecting then
    s.connecting = err
  end
  s.connected = false
  driver.shutdown(id)
  wake(s)
end

on[6] = function(id, size, data, from) -- UDP
  local s = pool[id]
  if s == nil or s.callback == nil then
    skynet.error("socket: drop udp package from " .. id)
    driver.drop(data, size)
    return
  end
  local text = skynet.tostring(data, size)
  driver.drop(data, size)
  s.callback(text, from)
end

on[7] = function(id, kib) -- WARNING
  local s = pool[id]
  if s == nil then
    return
  end
  if s.on_warning then
    s.on_warning(id, kib)
  else
    skynet.error(format("WARNING: %d K bytes need to send out (fd = %d)", kib, id))
  end
end

skynet.register_protocol {
  name = "socket",
  id = skynet.PTYPE_SOCKET,
  unpack = driver.unpack,
  dispatch = function(_, _, kind, ...)
    on[kind](...)
  end,
}

-- ---- opening --------------------------------------------------------------------------------

-- Pools `id` and waits for its CONNECT (or ERROR). `accept` makes a listener's object.
local function pooled(id, accept)
  local previous = pool[id]
  if previous and not previous.listen then
    error "socket is not closed"
  end
  assert(not onclose[id], "socket has onclose callback")
  local s = {
    id = id,
    buffer = (not accept) and driver.buffer() or nil,
    connected = false,
    connecting = true,
    callback = accept,
    protocol = "TCP",
  }
  pool[id] = s
  wait(s)
  local err = s.connecting
  s.connecting = nil
  if s.connected then
    return id
  end
  pool[id] = nil
  return nil, err
end

function socket.open(address, port)
  return pooled(driver.connect(address, port))
end

function socket.bind(os_fd)
  return pooled(driver.bind(os_fd))
end

function socket.stdin()
  return socket.bind(0)
end

function socket.start(id, accept)
  driver.start(id)
  return pooled(id, accept)
end

function socket.listen(host, port, backlog)
  local id = driver.listen(host, port, backlog)
  local s = { id = id, connected = false, listen = true }
  pool[id] = s
  wait(s)
  return id, s.address, s.port
end

-- ---- reading --------------------------------------------------------------------------------

local function rest(s)
  return false, driver.readall(s.buffer, readers)
end

-- read(id): whatever is buffered, waiting for some if nothing is. read(id, n): exactly n bytes.
function socket.read(id, n)
  local s = pool[id]
  assert(s)
  if n == nil then
    local bytes = driver.readall(s.buffer, readers)
    if bytes ~= "" then
      return bytes
    end
    if not s.connected then
      return false, bytes
    end
    assert(not s.read_required)
    s.read_required = 0
    wait(s)
    bytes = driver.readall(s.buffer, readers)
    if bytes ~= "" then
      return bytes
    end
    return false, bytes
  end
  local bytes = driver.pop(s.buffer, readers, n)
  if bytes then
    return bytes
  end
  if s.closing or not s.connected then
    return rest(s)
  end
  assert(not s.read_required)
  s.read_required = n
  wait(s)
  bytes = driver.pop(s.buffer, readers, n)
  if bytes then
    return bytes
  end
  return rest(s)
end

function socket.readall(id)
  local s = pool[id]
  assert(s)
  if not s.connected then
    local bytes = driver.readall(s.buffer, readers)
    return bytes ~= "" and bytes
  end
  assert(not s.read_required)
  s.read_required = true
  wait(s)
  assert(s.connected == false)
  return driver.readall(s.buffer, readers)
end

-- readline(id [, sep [, limit]]): `limit` (Starling's own) bounds what may be buffered while
-- the line is awaited: past it the reader raises instead of buffering a hostile peer's
-- endless line. The check runs as bytes arrive.
function socket.readline(id, sep, limit)
  sep = sep or "\n"
  local s = pool[id]
  assert(s)
  local line = driver.readline(s.buffer, readers, sep)
  if line then
    return line
  end
  if not s.connected then
    return rest(s)
  end
  assert(not s.read_required)
  s.read_required = sep
  s.line_limit = limit
  wait(s)
  local too_long = s.line_limit == false
  s.line_limit = nil
  if too_long then
    error(format("socket: a line longer than %d bytes (fd = %d)", limit, id))
  end
  if s.connected then
    return driver.readline(s.buffer, readers, sep)
  end
  return rest(s)
end

function socket.block(id)
  local s = pool[id]
  if not s or not s.connected then
    return false
  end
  assert(not s.read_required)
  s.read_required = 0
  wait(s)
  return s.connected
end

-- ---- writing --------------------------------------------------------------------------------

socket.write = assert(driver.send)
socket.lwrite = assert(driver.lsend)
socket.header = assert(driver.header)

-- ---- closing --------------------------------------------------------------------------------

function socket.close(id)
  local s = pool[id]
  if s == nil then
    return
  end
  driver.close(id)
  if s.connected then
    s.pause = false -- a reader woken by the close must not resume the socket
    if s.co then
      -- the reader gets `false, rest` first; it wakes us from its wait
      assert(not s.closing)
      s.closing = running()
      skynet.wait(s.closing)
    else
      wait(s)
    end
    s.connected = false
  end
  pool[id] = nil
end

function socket.close_fd(id)
  assert(pool[id] == nil, "Use socket.close instead")
  driver.close(id)
end

function socket.shutdown(id)
  if pool[id] then
    driver.shutdown(id)
  end
end

-- Forgets a socket without touching it, to hand it to another service.
function socket.abandon(id)
  local s = pool[id]
  if s then
    s.connected = false
    wake(s)
    onclose[id] = nil
    pool[id] = nil
  end
end

-- ---- status and tuning ----------------------------------------------------------------------

function socket.invalid(id)
  return pool[id] == nil
end

function socket.disconnected(id)
  local s = pool[id]
  if s then
    return not (s.connected or s.connecting)
  end
end

function socket.limit(id, limit)
  local s = assert(pool[id])
  s.buffer_limit = limit
end

function socket.warning(id, callback)
  local s = assert(pool[id])
  s.on_warning = callback
end

function socket.onclose(id, callback)
  onclose[id] = callback
end

function socket.pause(id)
  local s = pool[id]
  if s == nil or s.pause then
    return
  end
  pause(s)
end

-- ---- UDP ------------------------------------------------------------------------------------

local function udp_object(id, callback)
  assert(not pool[id], "socket is not closed")
  pool[id] = { id = id, connected = true, protocol = "UDP", callback = callback }
  return id
end

function socket.udp(callback, host, port)
  return udp_object(driver.udp(host, port), callback)
end

-- The port may be left out (address "host:port"), with the callback moving up a place.
local function shift(port, callback)
  if type(port) == "function" then
    return nil, port
  end
  return port, callback
end

function socket.udp_connect(id, address, port, callback)
  port, callback = shift(port, callback)
  local s = pool[id]
  if s then
    assert(s.protocol == "UDP")
    if callback then
      s.callback = callback
    end
  else
    udp_object(id, callback)
  end
  driver.udp_connect(id, address, port)
end

function socket.udp_listen(address, port, callback)
  port, callback = shift(port, callback)
  return udp_object(driver.udp_listen(address, port), callback)
end

function socket.udp_dial(address, port, callback)
  port, callback = shift(port, callback)
  return udp_object(driver.udp_dial(address, port), callback)
end

socket.sendto = assert(driver.udp_send)
socket.udp_address = assert(driver.udp_address)

-- ---- information ----------------------------------------------------------------------------

socket.netstat = assert(driver.info)
socket.resolve = assert(driver.resolve)

return socket
