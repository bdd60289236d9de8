-- clustersender: the one connection of this node to a remote node (docs/CLUSTER.md).
--
-- Started by clusterd with (node, nodename, address). Turns "req" and "push" from local
-- services into request frames and answers each "req" with the remote reply. There is no
-- background reconnect: after a drop the next request dials again, once, and requests in
-- flight at the drop fail.
--
-- skynet's sender waits for each reply in a coroutine of a socketchannel. This one keeps no
-- coroutine per call: a request is written and its caller remembered by session; the reader
-- answers the caller when the reply comes (skynet.redirect of a response or an error). The
-- sender is the one service every call to a node goes through, so its cost per call bounds
-- the node's call rate.

local skynet = require "skynet"
local socket = require "skynet.socket"
local socketdriver = require "skynet.socketdriver"
local core = require "skynet.cluster.core"

local node, nodename, address = ...

local host = address -- "host:port"; false once changenode(false) closed the sender
local fd -- the connection, when there is one
local connect_waiters -- coroutines waiting for the connect in progress, while there is one
local next_session = 1 -- survives reconnects; core.packrequest wraps it

-- The callers waiting for a reply, by request session; a split reply's parts so far.
local caller_of, caller_session, parts_of = {}, {}, {}

local PTYPE_RESPONSE, PTYPE_ERROR = skynet.PTYPE_RESPONSE, skynet.PTYPE_ERROR
local socket_error = setmetatable({}, { __tostring = function() return "[Error: socket]" end })

local function fail(source, session)
  skynet.redirect(source, 0, PTYPE_ERROR, session, "")
end

-- Every call waiting on the connection that just went away fails.
local function fail_all()
  local callers, sessions = caller_of, caller_session
  caller_of, caller_session, parts_of = {}, {}, {}
  for session, source in pairs(callers) do
    skynet.error(tostring(socket_error))
    fail(source, sessions[session])
  end
end

local function close()
  local id = fd
  if id then
    fd = nil
    socket.close(id)
    fail_all()
  end
end

local function answer(session, ok, data)
  local source = caller_of[session]
  local csession = caller_session[session]
  caller_of[session], caller_session[session] = nil, nil
  local parts = parts_of[session]
  if parts then
    parts_of[session] = nil
  end
  if not ok then
    -- The remote error text is logged here, never passed on.
    skynet.error(string.format("cluster %s: %s", node, tostring(data)))
    return fail(source, csession)
  end
  if parts then
    parts[#parts + 1] = data
    -- A total that does not add up gives an empty reply, as skynet does.
    local msg, sz = core.concat(parts)
    return skynet.redirect(source, 0, PTYPE_RESPONSE, csession, msg or "", sz)
  end
  skynet.redirect(source, 0, PTYPE_RESPONSE, csession, data)
end

-- The reader of connection `id`: answers callers until the connection goes away or a reply
-- does not decode (the stream cannot be trusted after it).
local function read_replies(id)
  while fd == id do
    local head = socket.read(id, 2)
    local body = head and socket.read(id, head:byte(1) * 256 + head:byte(2))
    if not body then break end
    local session, ok, data, more = core.unpackresponse(body)
    if not session then break end
    if caller_of[session] == nil then
      skynet.error("socket: unknown session :", session)
    elseif more then -- the total of a split reply, or one of its parts
      local parts = parts_of[session]
      if parts then
        parts[#parts + 1] = data
      else
        parts_of[session] = { data }
      end
    else
      answer(session, ok, data)
    end
  end
  if fd == id then
    close()
  end
end

-- The connection, dialled once if there is none; raises socket_error when that fails.
local function connect()
  if fd then return fd end
  if connect_waiters then
    local me = coroutine.running()
    connect_waiters[#connect_waiters + 1] = me
    skynet.wait(me)
    return fd or error(socket_error)
  end
  if not host then
    error(string.format("cluster sender of [%s] is closed (its node is down)", node))
  end
  connect_waiters = {}
  local id, err = socket.open(host)
  local waiters = connect_waiters
  connect_waiters = nil
  if id then
    socketdriver.nodelay(id)
    fd = id
    skynet.fork(read_replies, id)
  else
    skynet.error("Connect failed", err, host, nil)
  end
  for _, co in ipairs(waiters) do
    skynet.wakeup(co)
  end
  return fd or error(socket_error)
end

-- Writes a frame string, or a block of frames (which the socket takes over); a split message
-- goes at low priority, so small requests may pass it.
local function write(id, frame, size, split_message)
  local ok
  if split_message then
    ok = socket.lwrite(id, frame, size)
  else
    ok = socket.write(id, frame, size)
  end
  if not ok then
    if fd == id then close() end
    error(socket_error)
  end
end

-- The trace tag names this node, the remote node and the session after the request's, so
-- that both ends' trace logs can be joined.
local function trace_frame(tag)
  if tag:sub(1, 1) ~= "(" then
    local full = string.format("(%s-%s-%d)%s", nodename, node, next_session, tag)
    skynet.tracelog(tag, "session " .. full)
    tag = full
  end
  skynet.tracelog(tag, "cluster " .. node)
  return core.packtrace(tag)
end

-- The connection a request goes on, its trace frame written first if it has a tag.
local function open_for(tag)
  local id = connect()
  if tag then
    write(id, trace_frame(tag))
  end
  return id
end

-- packrequestmsg takes over msg (and frees it), whatever happens next; the block it makes is
-- ours until the socket takes it.
local function request(source, csession, target, msg, sz)
  local session = next_session
  local block, size, split_request, following = core.packrequestmsg(target, session, msg, sz)
  next_session = following
  local ok, id = pcall(open_for, skynet.tracetag())
  if not ok then
    skynet.trash(block, size)
    error(id, 0)
  end
  write(id, block, size, split_request)
  -- Written before anything can yield: the reply cannot have come yet.
  caller_of[session], caller_session[session] = source, csession
end

local command = {}

function command.req(source, csession, ...)
  skynet.ignoreret() -- the reader answers, later
  local ok, err = pcall(request, source, csession, ...)
  if not ok then
    skynet.error(tostring(err))
    fail(source, csession)
  end
end

function command.push(_, _, target, msg, sz)
  local block, size, split_push, following = core.packpushmsg(target, next_session, msg, sz)
  if split_push then -- a split push carries a session of its own
    next_session = following
  end
  local ok, id = pcall(connect)
  if not ok then
    skynet.trash(block, size)
    error(id, 0)
  end
  write(id, block, size, split_push)
end

function command.changenode(_, _, new_host)
  if new_host then
    host = new_host
    close() -- requests in flight on the old address fail
    connect()
  else
    skynet.error("Close cluster sender", host, nil)
    host = false
    close()
  end
  skynet.ret(skynet.pack(nil))
end

-- A whole push frame, built by the pushing service (skynet.cluster's send): written as it is.
skynet.register_protocol {
  name = "client",
  id = skynet.PTYPE_CLIENT,
  unpack = skynet.tostring,
  dispatch = function(_, _, frame)
    write(connect(), frame)
  end,
}

skynet.start(function()
  skynet.dispatch("lua", function(session, source, cmd, ...)
    local f = assert(command[cmd], cmd)
    f(source, session, ...)
  end)
end)
