-- Read/write closures over skynet.socket for the http modules. Failures raise the single
-- `socket_error` table, which callers compare by identity (err == sockethelper.socket_error).
local socket = require "skynet.socket"
local skynet = require "skynet"

local M = {}

local error_text -- set by socket_error(info), cleared by the next tostring
local socket_error = setmetatable({}, {
  __call = function(self, info)
    error_text = "[Socket Error] : " .. tostring(info)
    return self
  end,
  __tostring = function()
    local text = error_text or "[Socket Error]"
    error_text = nil
    return text
  end,
})
M.socket_error = socket_error

local function read_exact(fd, sz)
  local data = socket.read(fd, sz)
  if not data then
    error(socket_error("read failed fd = " .. fd))
  end
  return data
end

function M.readfunc(fd, pre)
  if not pre then
    return function(sz) return read_exact(fd, sz) end
  end
  return function(sz)
    if not pre then return read_exact(fd, sz) end
    if not sz then
      local out = pre
      pre = nil
      return out
    end
    local n = #pre
    if sz < n then
      local out = pre:sub(1, sz)
      pre = pre:sub(sz + 1)
      return out
    end
    local head = pre
    pre = nil
    if sz == n then return head end
    return head .. read_exact(fd, sz - n)
  end
end

M.readall = socket.readall

function M.writefunc(fd)
  return function(content)
    if not socket.write(fd, content) then
      error(socket_error("write failed fd = " .. fd))
    end
  end
end

function M.connect(host, port, timeout)
  local fd
  if timeout then
    local waiting = coroutine.running()
    local err
    local done = false
    skynet.fork(function()
      fd, err = socket.open(host, port)
      if done then
        -- the caller gave up before the connection was made
        if fd then socket.close(fd) end
        fd = nil
      elseif waiting then
        skynet.wakeup(waiting)
      end
    end)
    skynet.sleep(timeout, waiting)
    done = true
    if not fd then
      local is_time_out = err == nil
      error(socket_error(string.format(
        "connect failed host = %s port = %s timeout = %s err = %s is_time_out = %s",
        host, port, timeout, err, is_time_out)))
    end
    waiting = nil
    return fd
  end
  fd = socket.open(host, port)
  if not fd then
    error(socket_error(string.format(
      "connect failed host = %s port = %s timeout = %s err = %s is_time_out = %s",
      host, port, timeout, nil, false)))
  end
  return fd
end

function M.close(fd) socket.close(fd) end

function M.shutdown(fd) socket.shutdown(fd) end

return M
