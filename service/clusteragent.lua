-- clusteragent: serves the requests of one inbound cluster connection (docs/CLUSTER.md).
--
-- Started by clusterd with (clusterd, fd) for a connection its listener accepted. The agent
-- owns the socket: it splits the bytes into frames itself (skynet's agent gets them from a
-- gate service, one more hop per frame). Each frame runs in its own coroutine, in arrival
-- order, so a slow call does not hold back the ones behind it and replies may leave out of
-- order.

local skynet = require "skynet"
local skynet_core = require "skynet.core"
local socketdriver = require "skynet.socketdriver"
local netpack = require "skynet.netpack"
local core = require "skynet.cluster.core"

local clusterd, fd = ...
clusterd, fd = tonumber(clusterd), tonumber(fd)

-- "@name" -> handle, filled from clusterd's registry. Only hits are kept; clusterd says
-- "namechange" when a name goes away or moves, and the whole cache is dropped.
local names
local name_waiters = {} -- "@name" -> coroutines waiting for a lookup already asked

local function new_name_cache()
  names = setmetatable({}, {
    __index = function(cache, name)
      local waiting = name_waiters[name]
      if waiting then
        local me = coroutine.running()
        waiting[#waiting + 1] = me
        skynet.wait(me)
        return rawget(cache, name)
      end
      waiting = {}
      name_waiters[name] = waiting
      local ok, handle = pcall(skynet.call, clusterd, "lua", "queryname", name:sub(2))
      if ok and handle then
        cache[name] = handle
      end
      name_waiters[name] = nil
      for _, co in ipairs(waiting) do
        skynet.wakeup(co)
      end
      return ok and handle or nil
    end,
  })
end
new_name_cache()

local split = {} -- session -> a split request being joined: { address, push, tag, parts... }
local split_bytes = 0 -- held by the split requests being joined
-- What one connection may hold of unfinished split requests (docs/CLUSTER.md, "Limits").
local split_limit = math.tointeger(tonumber(skynet.getenv "cluster_split_limit" or "")) or 128 * 1024 * 1024
local pending_tag -- the trace tag announced for the next request
local dropped = false

-- Bad bytes from the peer: log why once and close the connection (its CLOSE then stops us).
local function drop(why)
  if dropped then return end
  dropped = true
  skynet.error(string.format("cluster: closing connection %d: %s", fd, why))
  socketdriver.close(fd)
end

local function reply(session, ok, msg, sz)
  -- One block holding every frame, which the socket takes over (no copy of it as strings).
  local block, size, split_reply = core.packresponsemsg(session, ok, msg, sz)
  if split_reply then
    -- A split reply goes out at low priority, so small replies may pass it.
    socketdriver.lsend(fd, block, size)
  else
    socketdriver.send(fd, block, size)
  end
end

local function query_name(session, msg, sz)
  local name = skynet.unpack(msg, sz)
  skynet.trash(msg, sz)
  local handle = names["@" .. name]
  if handle then
    reply(session, true, skynet.packstring(handle))
  else
    reply(session, false, "name not found")
  end
end

-- Serves a whole request; may wait (a call, a name to look up).
local function serve(address, session, msg, sz, push, tag)
  if address == 0 then
    return query_name(session, msg, sz)
  end
  if core.isname(address) then
    address = names[address]
    if not address then
      skynet.trash(msg, sz)
      return reply(session, false, "Invalid name")
    end
  end
  if push then
    return skynet.rawsend(address, "lua", msg, sz)
  end
  local ok, ret, retsz
  if tag then
    ok, ret, retsz = pcall(skynet.tracecall, tag, address, "lua", msg, sz)
  else
    ok, ret, retsz = pcall(skynet.rawcall, address, "lua", msg, sz)
  end
  if ok then
    reply(session, true, ret, retsz)
  else
    reply(session, false, ret)
  end
end

-- The part of a frame's work that never waits, in arrival order: errors, trace tags, the
-- parts of split requests. Takes what core.unpackrequest gave (whether it succeeded, then (tag)
-- for a trace frame, or (address, session, msg, sz, more, push), `more` telling a header or a
-- middle part; a header has no msg and sz is the announced total). Returns the whole request
-- to serve, if the frame completed one: address, session, msg, sz, push, tag.
local function prepare(decoded, address, session, msg, sz, more, push)
  if not decoded then
    return drop(address)
  end
  if dropped then
    if msg then skynet.trash(msg, sz) end
    return
  end
  if session == nil then
    pending_tag = address
    return
  end
  local tag
  if more then
    local req = split[session]
    if not req then
      -- A middle part without its header starts an entry that can never be joined, answered
      -- with "Invalid large req" at its last part, as skynet does.
      req = { address = address, push = push, tag = pending_tag, bytes = 0 }
      pending_tag = nil
      split[session] = req
      if not msg then -- the header: its total is held from now on
        if split_bytes + sz > split_limit then
          split[session] = nil
          return drop(string.format("a split request of %d bytes, with %d pending, over cluster_split_limit %d",
            sz, split_bytes, split_limit))
        end
        req.bytes = sz
        split_bytes = split_bytes + sz
        req.join = core.joiner(sz)
        return
      end
    elseif not msg then
      req.join = false -- the header came twice
      return
    end
    if req.join then
      core.joinpart(req.join, msg, sz)
    else
      skynet.trash(msg, sz)
    end
    return
  end
  local req = split[session]
  if req then
    split[session] = nil
    split_bytes = split_bytes - req.bytes
    local join = req.join
    if join then
      core.joinpart(join, msg, sz)
      msg, sz = core.joined(join)
    else
      skynet.trash(msg, sz)
      msg = nil
    end
    address, push, tag = req.address, req.push, req.tag
    if not msg then
      return reply(session, false, "Invalid large req")
    end
  else
    tag, pending_tag = pending_tag, nil
  end
  if not address then -- a last part without its header
    if msg then skynet.trash(msg, sz) end
    return reply(session, false, "Invalid name")
  end
  return address, session, msg, sz, push, tag
end

-- A frame from the socket, decoded and its block freed (the decoder copies what it keeps);
-- unpackrequest returns at most six values.
local function decode(frame, size)
  local ok, a, b, c, d, e, f = pcall(core.unpackrequest, frame, size)
  skynet.trash(frame, size)
  return prepare(ok, a, b, c, d, e, f)
end

-- Calls in flight without a coroutine: our session -> the remote session to answer.
local remote_session_of = {}
local PTYPE_LUA, PTYPE_RESPONSE, PTYPE_ERROR = skynet.PTYPE_LUA, skynet.PTYPE_RESPONSE, skynet.PTYPE_ERROR

-- A request whose target is known at once is served without a coroutine of its own: a push is
-- delivered, a call sent with a session of ours and answered when its reply comes (see the
-- filter below). False when it needs one: a name to look up, a name query, a trace tag.
local function serve_now(address, session, msg, sz, push, tag)
  if address == 0 or tag then return false end
  if core.isname(address) then
    address = rawget(names, address)
    if not address then return false end
  end
  if push then
    skynet.rawsend(address, "lua", msg, sz)
    return true
  end
  local ours = skynet.genid()
  if skynet.redirect(address, 0, PTYPE_LUA, ours, msg, sz) then
    remote_session_of[ours] = session
  else
    reply(session, false, "call to invalid address")
  end
  return true
end

local queue -- netpack's queue of frames, when one read held several
local exiting = false

local function exit()
  if exiting then return end
  exiting = true
  netpack.clear(queue)
  queue = nil
  skynet.send(clusterd, "lua", "agent_exit", fd)
  skynet.exit()
end

local event = {}

function event.data(_, frame, size)
  local address, session, msg, sz, push, tag = decode(frame, size)
  if address ~= nil and not serve_now(address, session, msg, sz, push, tag) then
    serve(address, session, msg, sz, push, tag)
  end
end

-- Several frames: requests are served at once (serve_now) until the first that needs a
-- coroutine of its own; it and every request behind it are forked, in arrival order, so requests
-- reach their targets in the order they came.
function event.more()
  local forked = false
  for _, frame, size in netpack.pop, queue do
    local address, session, msg, sz, push, tag = decode(frame, size)
    if address ~= nil then
      if forked or not serve_now(address, session, msg, sz, push, tag) then
        forked = true
        skynet.fork(serve, address, session, msg, sz, push, tag)
      end
    end
  end
end

function event.close()
  exit()
end

function event.error(_, why)
  skynet.error(string.format("cluster: connection %d: %s", fd, tostring(why)))
  exit()
end

function event.warning(_, size)
  skynet.error(string.format("cluster: connection %d has %d KiB waiting to be sent", fd, size))
end

skynet.register_protocol {
  name = "socket",
  id = skynet.PTYPE_SOCKET,
  unpack = function(msg, sz)
    return netpack.filter(queue, msg, sz)
  end,
  dispatch = function(_, _, q, kind, ...)
    queue = q
    local handle = kind and event[kind]
    if handle then
      handle(...)
    end
  end,
}

-- The replies to the calls serve_now made go straight to the socket, without a coroutine;
-- everything else is dispatched as usual. (As skynet.filter, but a reply taken here is not
-- dispatched at all.)
local dispatch_message = skynet.dispatch_message
skynet_core.callback(function(ptype, msg, sz, session, source)
  if session ~= 0 and (ptype == PTYPE_RESPONSE or ptype == PTYPE_ERROR) then
    local remote = remote_session_of[session]
    if remote then
      remote_session_of[session] = nil
      if ptype == PTYPE_RESPONSE then
        reply(remote, true, msg, sz)
      else
        reply(remote, false, "call failed")
      end
      return
    end
  end
  dispatch_message(ptype, msg, sz, session, source)
end)

local function start()
  skynet.dispatch("lua", function(_, source, cmd)
    if cmd == "namechange" then
      new_name_cache()
    elseif cmd == "exit" then
      socketdriver.close(fd)
      exit()
    else
      skynet.error(string.format("clusteragent: unknown command %s from %s", cmd, skynet.address(source)))
    end
  end)
  socketdriver.nodelay(fd)
  socketdriver.start(fd)
end

-- What skynet.start does, with the callback above.
skynet.timeout(0, function()
  skynet.init_service(start)
end)
