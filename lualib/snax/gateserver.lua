-- snax.gateserver: turns the socket messages of a listening socket and its connections into
-- handler callbacks, cutting each connection's bytes into packets with skynet.netpack
-- (docs/GATE.md).
--
--   gateserver.start(handler)    handler.connect and handler.message are required
--   gateserver.openclient(fd)    start reading an announced connection
--   gateserver.closeclient(fd)   close a connection (the only way to free one the peer closed)
--
-- The service answers the lua commands "open" and "close" itself; every other command goes
-- to handler.command(cmd, source, ...). Every command is answered with skynet.pack(results).

local skynet = require "skynet"
local netpack = require "skynet.netpack"
local socketdriver = require "skynet.socketdriver"

local gateserver = {}

local listen_id      -- the listening socket, while there is one
local listen_waiter  -- open() waiting for the listener's CONNECT: { id, co, address, port }
local queue          -- netpack's queue (made by the first data)
local maxclient = 1024
local nodelay = false
local client_number = 0  -- accepted and not yet closed, rejected ones included
-- fd -> true: live and announced to the handler; false: the peer closed it, we have not yet
local connection = {}

function gateserver.openclient(fd)
  if connection[fd] then
    socketdriver.start(fd)
  end
end

function gateserver.closeclient(fd)
  if connection[fd] ~= nil then
    connection[fd] = nil
    socketdriver.close(fd)
  end
end

function gateserver.start(handler)
  assert(handler.message, "gateserver: handler.message is required")
  assert(handler.connect, "gateserver: handler.connect is required")

  local CMD = {}

  function CMD.open(source, conf)
    assert(not listen_id, "gateserver: already listening")
    local address = conf.address or "0.0.0.0"
    local port = conf.port
    maxclient = conf.maxclient or 1024
    nodelay = conf.nodelay
    if port then
      skynet.error(string.format("Listen on %s %s", address, port))
    else
      skynet.error("Listen on " .. address) -- "host:port"
    end
    listen_id = socketdriver.listen(address, port, conf.backlog)
    -- The socket thread reports the bound address (the real port when 0 was asked) in a
    -- CONNECT before anything is accepted.
    listen_waiter = { id = listen_id, co = coroutine.running() }
    skynet.wait(listen_waiter.co)
    conf.address, conf.port = listen_waiter.address, listen_waiter.port
    listen_waiter = nil
    socketdriver.start(listen_id)
    if handler.open then
      return handler.open(source, conf)
    end
  end

  function CMD.close()
    assert(listen_id, "gateserver: not listening")
    socketdriver.close(listen_id)
  end

  local MSG = {}

  local function dispatch_msg(fd, msg, sz)
    if connection[fd] then
      handler.message(fd, msg, sz)
    else
      skynet.error(string.format("Drop message from fd (%d) : %s", fd, netpack.tostring(msg, sz)))
    end
  end

  MSG.data = dispatch_msg

  -- Packets of a "more" are dispatched in order; a fork takes over the rest of the queue
  -- whenever handler.message blocks, so one slow packet does not hold up the others.
  local function dispatch_queue()
    local fd, msg, sz = netpack.pop(queue)
    if fd then
      skynet.fork(dispatch_queue)
      dispatch_msg(fd, msg, sz)
      for fd2, msg2, sz2 in netpack.pop, queue do
        dispatch_msg(fd2, msg2, sz2)
      end
    end
  end

  MSG.more = dispatch_queue

  function MSG.open(fd, addr)
    -- Counted before the test: at most maxclient - 1 clients at once, as in skynet.
    client_number = client_number + 1
    if client_number >= maxclient then
      socketdriver.shutdown(fd)
      return
    end
    if nodelay then
      socketdriver.nodelay(fd)
    end
    connection[fd] = true
    handler.connect(fd, addr)
  end

  function MSG.close(fd)
    if fd == listen_id then
      listen_id = nil
      return
    end
    client_number = client_number - 1
    if connection[fd] then
      connection[fd] = false
    end
    if handler.disconnect then
      handler.disconnect(fd)
    end
  end

  function MSG.error(fd, msg)
    if fd == listen_id then
      skynet.error("gateserver accept error: " .. msg)
      return
    end
    socketdriver.shutdown(fd)
    if handler.error then
      handler.error(fd, msg)
    end
  end

  function MSG.warning(fd, size)
    if handler.warning then
      handler.warning(fd, size)
    end
  end

  function MSG.init(id, addr, port)
    local w = listen_waiter
    if w and id == w.id and not w.address then
      w.address, w.port = addr, port
      skynet.wakeup(w.co)
    end
  end

  skynet.register_protocol {
    name = "socket",
    id = skynet.PTYPE_SOCKET,
    unpack = function(msg, sz)
      return netpack.filter(queue, msg, sz)
    end,
    dispatch = function(_, _, q, type, ...)
      queue = q
      if type then
        MSG[type](...)
      end
    end,
  }

  local function init()
    skynet.dispatch("lua", function(_, address, cmd, ...)
      local f = CMD[cmd]
      if f then
        skynet.ret(skynet.pack(f(address, ...)))
      else
        skynet.ret(skynet.pack(handler.command(cmd, address, ...)))
      end
    end)
  end

  if handler.embed then
    init()
  else
    skynet.start(init)
  end
end

-- Queued packets and partial frames are malloc'd blocks: free them with the service (the
-- module table lives as long as the state, in package.loaded).
setmetatable(gateserver, {
  __gc = function()
    netpack.clear(queue)
  end,
})

return gateserver
