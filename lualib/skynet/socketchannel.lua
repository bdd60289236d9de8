-- skynet.socketchannel: one reconnecting TCP connection with coroutine-blocking
-- request/response calls, in order mode or session mode (docs/SOCKETCHANNEL.md).
--
-- The public channel object holds only `__st` (the state) and mirrors of the current address
-- (`__host`, `__port`). Everything long-lived (the dispatch coroutine, the socket callbacks)
-- refers to the state, never to the channel, so a channel nobody holds is collected and its
-- finalizer closes the connection.

local skynet = require "skynet"
local socket = require "skynet.socket"
local driver = require "skynet.socketdriver"

local assert = assert
local error = error
local pcall = pcall
local next = next
local concat = table.concat
local type = type
local tostring = tostring
local setmetatable = setmetatable
local format = string.format
local running = coroutine.running
local wait = skynet.wait
local wakeup = skynet.wakeup
local socket_read = socket.read
local socket_readline = socket.readline

local sc = {}

-- Raised as a value whenever the connection itself failed: callers test `err == sc.error`.
local socket_error = setmetatable({}, { __tostring = function() return "[Error: socket]" end })
sc.error = socket_error

-- The opt-in request deadline (desc.timeout) fails the caller with this exact string.
local TIMEOUT = "socketchannel: timeout"

-- ---- the socket object handed to response and auth functions ---------------------------------

-- `dead` is set when the channel closed the socket: later reads fail as a closed peer would.
local function sock_read(so, n)
  if so.dead then error(socket_error) end
  local data = socket_read(so[1], n)
  if not data then error(socket_error) end
  return data
end

local function sock_readline(so, sep, limit)
  if so.dead then error(socket_error) end
  local line = socket_readline(so[1], sep, limit)
  if not line then error(socket_error) end
  return line
end

-- A socket object dropped without the channel closing it shuts its socket down.
local function sock_gc(so)
  local fd = so[1]
  if fd and not so.dead then
    so.dead = true
    socket.shutdown(fd)
  end
end

local sock_meta = { __index = { read = sock_read, readline = sock_readline }, __gc = sock_gc }

-- ---- results ---------------------------------------------------------------------------------
--
-- st.results[co]: true / false (the response's ok) or socket_error (the connection failed);
-- st.datas[co]: the data, the failure value, or the connection failure's message (nil: none).
-- Order mode queues callers in st.fns / st.cos between st.head and st.tail; session mode maps
-- st.sessions[session] = co (st.datas[co] collects multi-part replies meanwhile).

local function fail(st, co, msg)
  st.results[co] = socket_error
  st.datas[co] = msg
  wakeup(co)
end

-- Fails every caller waiting on the current connection.
local function fail_all(st, msg)
  if st.session_fn then
    local sessions = st.sessions
    for session, co in next, sessions do
      sessions[session] = nil
      fail(st, co, msg)
    end
  else
    local fns, cos = st.fns, st.cos
    for i = st.head, st.tail do
      local co = cos[i]
      fns[i], cos[i] = nil, nil
      if co then fail(st, co, msg) end -- false: a caller that timed out
    end
    st.head, st.tail = 1, 0
  end
end

-- Drops the current socket. `st.sock` is false before anything yields, so no caller can use it.
local function close_socket(st)
  local so = st.sock
  if not so then return end
  st.sock = false
  so.dead = true
  st.out_n = 0 -- gathered requests die with their socket; their callers are failed
  local idle = st.idle
  if idle then
    st.idle = false
    wakeup(idle)
  end
  local fd = so[1]
  socket.onclose(fd, nil) -- after an ERROR no CLOSE may come to consume it
  pcall(socket.close, fd) -- never raises into the caller
end

-- ---- dispatch coroutines (one per connection) ------------------------------------------------

-- Order mode: fn(so) -> ok, data[, padding]; padding asks for one more part.
local function get_response(fn, so)
  local ok, data, padding = fn(so)
  if not (ok and padding) then return ok, data end
  local parts, n = { data }, 1
  repeat
    ok, data, padding = fn(so)
    if not ok then return ok, data end
    n = n + 1
    parts[n] = data
  until not padding
  return true, parts
end

local function dispatch_order(st, so)
  local fns, cos, results, datas = st.fns, st.cos, st.results, st.datas
  while st.sock == so do
    local head = st.head
    if head > st.tail then
      st.head, st.tail = 1, 0
      local me = running()
      st.idle = me -- the peer-close callback closes the socket only while we are idle
      wait(me)
    else
      local fn = fns[head]
      st.serving = cos[head]
      fns[head], cos[head] = nil, nil
      st.head = head + 1
      local ok, rok, data = pcall(get_response, fn, so)
      local co = st.serving -- false when its caller timed out meanwhile
      st.serving = false
      if not ok then
        local msg = rok
        if msg == socket_error then msg = nil end
        if co then fail(st, co, msg) end
        fail_all(st, msg)
        close_socket(st)
        return
      end
      if co then
        results[co] = rok and true or false
        datas[co] = data
        wakeup(co)
      end
    end
  end
end

-- Session mode: desc.response(so) -> session, ok, data[, padding].
local function dispatch_session(st, so)
  local response, sessions, results, datas = st.session_fn, st.sessions, st.results, st.datas
  while st.sock == so do
    local ok, session, rok, data, padding = pcall(response, so)
    if not (ok and session) then
      -- a raise, or no session: the stream cannot be trusted any more
      local msg
      if not ok and session ~= socket_error then msg = session end
      fail_all(st, msg)
      close_socket(st)
      return
    end
    local co = sessions[session]
    if co == nil then
      skynet.error("socket: unknown session :", session)
    elseif padding and rok then
      local parts = datas[co]
      if parts then
        parts[#parts + 1] = data
      else
        datas[co] = { data }
      end
    else
      sessions[session] = nil
      if rok then
        local parts = datas[co]
        if parts then
          parts[#parts + 1] = data
          data = parts
        end
        results[co] = true
      else
        results[co] = false
      end
      datas[co] = data
      wakeup(co)
    end
  end
end

-- Whoever is still queued when the dispatcher leaves (the channel was closed or the socket
-- replaced while they waited) fails with "channel_closed"; a new connection waits for this.
local function run_dispatcher(st, so, dispatch)
  dispatch(st, so)
  fail_all(st, "channel_closed")
  st.dispatcher = false
  local waiter = st.exit_waiter
  if waiter then
    st.exit_waiter = false
    wakeup(waiter)
  end
end

-- ---- connecting ------------------------------------------------------------------------------

local function set_address(ch, st, host, port)
  st.host, st.port = host, port
  ch.__host, ch.__port = host, port
end

-- Appends the backups not seen yet ("host:port"; the primary is not in `seen`).
local function add_backups(st, list, seen)
  local backup = st.backup
  if not backup then return end
  for _, b in ipairs(backup) do
    local host, port
    if type(b) == "table" then
      host, port = b.host, b.port
    else
      host, port = b, st.port
    end
    local key = tostring(host) .. ":" .. tostring(port)
    if not seen[key] then
      seen[key] = true
      list[#list + 1] = { host, port }
    end
  end
end

local function overload_watcher(st, so)
  return function(id, size)
    if st.sock ~= so or so[1] ~= id then return end
    if size == 0 then
      if st.overloaded then
        st.overloaded = false
        st.overload(false)
      end
    elseif not st.overloaded then
      st.overloaded = true
      st.overload(true)
    else
      skynet.error(format("WARNING: %d K bytes need to send out (fd = %d)", size, id),
        st.host, st.port)
    end
  end
end

-- Order mode: a peer close while nothing is pending is noticed here, not by a read.
local function peer_close_watcher(st, so)
  return function()
    if st.sock == so and st.idle then
      if not st.closed then -- closed: the channel's finalizer closed it
        skynet.error("socket closed by peer : ", st.host, st.port)
      end
      close_socket(st)
    end
  end
end

-- Makes `fd` the channel's socket with a fresh dispatcher. False when closed meanwhile.
local function install(st, fd)
  while st.dispatcher do -- the previous one still drains its callers
    local me = running()
    st.exit_waiter = me
    wait(me)
  end
  if st.closed then
    socket.close(fd)
    return false
  end
  local so = setmetatable({ fd }, st.sock_meta)
  st.sock = so
  if st.nodelay then driver.nodelay(fd) end
  local dispatch = dispatch_session
  if not st.session_fn then
    dispatch = dispatch_order
    socket.onclose(fd, peer_close_watcher(st, so))
  end
  st.dispatcher = skynet.fork(run_dispatcher, st, so, dispatch)
  if st.overload then
    local watch = overload_watcher(st, so)
    socket.warning(fd, watch)
    -- a channel left overloaded by a dead connection hears that it is not any more
    skynet.fork(watch, fd, 0)
  end
  return true
end

-- Runs auth on the new socket; on failure the socket is closed.
local function authenticate(ch, st)
  st.authco = running()
  local ok, err = pcall(st.auth, ch)
  st.authco = false
  if not ok then
    close_socket(st)
    if err ~= socket_error then skynet.error("socket: auth failed", err) end
  end
  return ok
end

-- One pass over the primary then the backups. Returns true, or false and the last error.
local function connect_pass(ch, st)
  while true do -- repeated when auth dropped the new socket (it changed the host)
    if st.closed then return false end
    local list, seen, at = {}, {}, 1
    add_backups(st, list, seen)
    local host, port = st.host, st.port
    local fd, err
    repeat
      fd, err = socket.open(host, port)
      if fd then
        if st.closed then
          socket.close(fd)
          return false
        end
        set_address(ch, st, host, port) -- a backup that answers becomes the primary
        if not install(st, fd) then return false end
        if not st.auth then return true end
        if authenticate(ch, st) then
          if st.sock then return true end
          break
        end
        err = "no more backup host"
        add_backups(st, list, seen) -- auth may have changed the backups
      end
      if st.closed then return false end
      local addr = list[at]
      if addr == nil then return false, err end
      at = at + 1
      host, port = addr[1], addr[2]
      skynet.error("socket: connect to backup host", host, port)
    until false
  end
end

-- once: a single pass (returns its error). Otherwise retry until connected or closed, with
-- sleeps of 0, 1, ..., 10 s, then 11 s, then 1 s, 2 s, ... again.
local function try_connect(ch, st, once)
  local t = 0
  while not st.closed do
    local ok, err = connect_pass(ch, st)
    if ok then
      if not once then skynet.error("socket: connect to", st.host, st.port) end
      return
    end
    if once then return err end
    skynet.error("socket: connect", err)
    if t > 1000 then
      skynet.error("socket: try to reconnect", st.host, st.port)
    end
    st.sleeper = running() -- close() cuts the sleep short
    skynet.sleep(t) -- looked up at each call: a test may observe the back-off through it
    st.sleeper = false
    if t > 1000 then t = 0 end
    t = t + 100
  end
end

-- true: usable now; false: not usable (closed, or the socket died during our own auth);
-- nil: somebody has to connect (or is connecting).
local function check_connection(st)
  local so = st.sock
  if so then
    local authco = st.authco
    if socket.disconnected(so[1]) ~= false then
      skynet.error("socket: disconnect detected ", st.host, st.port)
      close_socket(st)
      if authco and authco == running() then return false end
      return check_connection(st) -- the close yielded: somebody may have reconnected
    end
    if not authco or authco == running() then return true end
  end
  if st.closed then return false end
  return nil
end

local function block_connect(ch, st, once)
  local r = check_connection(st)
  if r ~= nil then return r end
  local err
  if st.connecting then
    local waiters = st.waiters
    local me = running()
    waiters[#waiters + 1] = me
    wait(me)
  else
    st.connecting = true
    local ok
    ok, err = pcall(try_connect, ch, st, once)
    st.connecting = false
    local waiters = st.waiters
    if #waiters > 0 then
      st.waiters = {}
      for i = 1, #waiters do wakeup(waiters[i]) end
    end
    if not ok then error(err, 0) end -- e.g. an invalid address: the caller sees it as is
  end
  r = check_connection(st)
  if r == nil then
    skynet.error("Connect failed", err, st.host, st.port)
    error(socket_error)
  end
  return r
end

-- ---- waiting for a result --------------------------------------------------------------------

-- A caller whose deadline passed leaves. In order mode the stream position is lost with it:
-- the connection is closed and everybody else waiting fails with sc.error.
local function abandon(st, co, session)
  st.results[co], st.datas[co] = nil, nil
  if st.session_fn then
    if st.sessions[session] == co then st.sessions[session] = nil end
    return
  end
  if st.serving == co then
    st.serving = false
  else
    local cos = st.cos
    for i = st.head, st.tail do
      if cos[i] == co then
        cos[i] = false
        break
      end
    end
  end
  fail_all(st, nil)
  close_socket(st)
end

local function wait_result(st, co, session, timeout)
  local results = st.results
  if timeout then
    local deadline = skynet.now() + timeout
    while results[co] == nil do
      local left = deadline - skynet.now()
      if left <= 0 then
        abandon(st, co, session)
        error(TIMEOUT, 0)
      end
      skynet.sleep(left, co)
    end
  else
    repeat wait(co) until results[co] ~= nil
  end
  local result = results[co]
  local data = st.datas[co]
  results[co], st.datas[co] = nil, nil
  if result == socket_error then
    if data ~= nil then error(data) end -- a string gets this file's position in front
    error(socket_error)
  end
  assert(result, data) -- false: a string gets a position, a table is raised as it is
  return data
end

-- Order mode: queue the caller behind the others and make sure the dispatcher runs.
local function enqueue(st, fn, co)
  local tail = st.tail + 1
  st.tail = tail
  st.fns[tail], st.cos[tail] = fn, co
  local idle = st.idle
  if idle then
    st.idle = false
    wakeup(idle)
  end
end

-- ---- writing ---------------------------------------------------------------------------------
--
-- A request on an idle connection is written at once. One issued while other callers wait for
-- replies is gathered instead, and everything gathered goes out in one write when the current
-- message has been handled (a fork runs after every coroutine it woke): callers woken by one
-- batch of replies send their next requests in one system call, not one each.

local function failed_write(st)
  fail_all(st, nil)
  close_socket(st)
end

local function flush(st, so)
  st.flush_pending = false
  local n = st.out_n
  if n == 0 or st.sock ~= so then return end
  st.out_n = 0
  local out = st.out
  local data = concat(out, "", 1, n)
  for i = 1, n do out[i] = nil end
  if not socket.write(so[1], data) then failed_write(st) end
end

local function in_flight(st)
  if st.out_n > 0 then return true end
  if st.session_fn then return next(st.sessions) ~= nil end
  return st.serving or st.head <= st.tail
end

local function gather(st, request)
  local out, n = st.out, st.out_n
  if type(request) == "table" then
    for i = 1, #request do
      n = n + 1
      out[n] = request[i]
    end
  else
    n = n + 1
    out[n] = request
  end
  st.out_n = n
  if not st.flush_pending then
    st.flush_pending = true
    skynet.fork(flush, st, st.sock)
  end
end

-- ---- the channel -----------------------------------------------------------------------------

local channel = {}

-- A finalizer may neither yield nor re-enter the scheduler: it only asks the socket layer to
-- close. The CLOSE that follows ends the dispatcher (a failed read in session mode, the
-- peer-close watcher in order mode), which then drops the socket as usual.
local channel_meta = {
  __index = channel,
  __gc = function(ch)
    local st = ch.__st
    if not st.closed then
      st.closed = true
      local so = st.sock
      if so then driver.close(so[1]) end
    end
  end,
}

function sc.channel(desc)
  local timeout = desc.timeout
  assert(timeout == nil or (type(timeout) == "number" and timeout > 0),
    "socketchannel: timeout must be a positive number of centiseconds")
  local meta = sock_meta
  if desc.socket_read or desc.socket_readline then
    meta = {
      __index = {
        read = desc.socket_read or sock_read,
        readline = desc.socket_readline or sock_readline,
      },
      __gc = sock_gc,
    }
  end
  local st = {
    host = assert(desc.host),
    port = desc.port,
    backup = desc.backup,
    auth = desc.auth,
    session_fn = desc.response, -- its presence selects session mode
    nodelay = desc.nodelay,
    overload = desc.overload,
    overloaded = false,
    timeout = timeout,
    sock_meta = meta,
    sock = false,
    closed = false,
    authco = false, -- the coroutine running auth
    connecting = false,
    waiters = {}, -- coroutines waiting for the one connecting
    sleeper = false, -- the coroutine sleeping between connection passes
    dispatcher = false,
    exit_waiter = false,
    idle = false, -- order mode: the dispatcher, while nothing is pending
    serving = false, -- order mode: the caller whose response is being read
    fns = {}, cos = {}, head = 1, tail = 0,
    out = {}, out_n = 0, flush_pending = false, -- requests gathered for one write
    sessions = {},
    results = {}, datas = {},
  }
  return setmetatable({ __st = st, __host = st.host, __port = st.port }, channel_meta)
end

function channel:connect(once)
  local st = self.__st
  st.closed = false
  return block_connect(self, st, once)
end

function channel:request(request, response, padding)
  local st = self.__st
  assert(block_connect(self, st, true))
  local fd = st.sock[1]
  local session_mode = st.session_fn
  if session_mode and response ~= nil and st.sessions[response] then
    error("socketchannel: session " .. tostring(response) .. " is already waiting")
  end
  -- socket.write / lwrite are looked up here so that a test can count them
  if padding then
    flush(st, st.sock) -- what was gathered before goes first
    if st.sock == false then error(socket_error) end
    -- multi-part: every part low priority, so small requests may overtake between parts
    local lwrite = socket.lwrite
    local sent = lwrite(fd, request)
    for i = 1, #padding do
      sent = sent and lwrite(fd, padding[i])
    end
    if not sent then
      failed_write(st)
      error(socket_error)
    end
  elseif in_flight(st) then
    gather(st, request)
  elseif not socket.write(fd, request) then
    failed_write(st)
    error(socket_error)
  end
  if response == nil then return end
  local co = running()
  if session_mode then
    st.sessions[response] = co
  else
    enqueue(st, response, co)
  end
  return wait_result(st, co, response, st.timeout)
end

-- Order mode: wait for one more reply without sending anything (server push).
function channel:response(response)
  local st = self.__st
  assert(not st.session_fn, "socketchannel: response() is for order mode")
  assert(block_connect(self, st))
  local co = running()
  enqueue(st, response, co)
  return wait_result(st, co)
end

function channel:close()
  local st = self.__st
  if st.closed then return end
  st.closed = true
  local sleeper = st.sleeper
  if sleeper then wakeup(sleeper) end -- a retry loop ends now, not after its sleep
  close_socket(st)
end

function channel:changehost(host, port)
  local st = self.__st
  set_address(self, st, host, port or st.port)
  if not st.closed then close_socket(st) end
end

function channel:changebackup(backup)
  self.__st.backup = backup
end

return sc
