-- clusteragent: serves the requests of one inbound cluster connection (docs/CLUSTER.md).
--
-- Started by clusterd with (clusterd, gate, fd). The gate forwards every frame of the
-- connection here as a "client" message; each frame runs in its own coroutine, so a slow call
-- does not hold back the ones behind it and replies may leave out of order. Replies are written
-- straight to the socket.

local skynet = require "skynet"
local socket = require "skynet.socket"
local core = require "skynet.cluster.core"

local clusterd, gate, fd = ...
clusterd, gate, fd = tonumber(clusterd), tonumber(gate), tonumber(fd)

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

-- Bad bytes from the peer: log why once and have the gate close the connection (clusterd
-- then stops us). Requests already running still answer if the socket lasts.
local function drop(why)
  if dropped then return end
  dropped = true
  skynet.error(string.format("cluster: closing connection %d: %s", fd, why))
  skynet.send(gate, "lua", "kick", fd)
end

local function reply(session, ok, msg, sz)
  local frames = core.packresponse(session, ok, msg, sz)
  if type(frames) == "table" then
    -- A split reply goes out at low priority, so small replies may pass between its parts.
    for _, frame in ipairs(frames) do
      socket.lwrite(fd, frame)
    end
  else
    socket.write(fd, frames)
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

local function serve(address, session, msg, sz, push, tag)
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

-- Whether core.unpackrequest succeeded, then its values: (tag) for a trace frame; (address,
-- session, msg, sz, more, push) otherwise, `more` telling a header or middle part of a split
-- request (a header has no msg and sz is the announced total); or the decoding error.
local function on_frame(_, _, decoded, address, session, msg, sz, more, push)
  skynet.ignoreret() -- the session of a client message is the fd, not a call to answer
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
      -- A middle part without its header starts an entry with no address, answered with
      -- "Invalid name" at its last part, as skynet does.
      if not msg and sz > split_limit then
        return drop(string.format("a split request of %d bytes, over cluster_split_limit %d", sz, split_limit))
      end
      req = { address = address, push = push, tag = pending_tag, bytes = 0 }
      pending_tag = nil
      split[session] = req
    end
    if msg then
      req.bytes = req.bytes + sz
      split_bytes = split_bytes + sz
      if split_bytes > split_limit then
        skynet.trash(msg, sz)
        return drop(string.format("split requests of %d bytes pending, over cluster_split_limit %d", split_bytes, split_limit))
      end
    end
    core.append(req, msg, sz)
    return
  end
  local req = split[session]
  if req then
    split[session] = nil
    split_bytes = split_bytes - req.bytes
    core.append(req, msg, sz)
    msg, sz = core.concat(req)
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
  if address == 0 then
    return query_name(session, msg, sz)
  end
  return serve(address, session, msg, sz, push, tag)
end

skynet.register_protocol {
  name = "client",
  id = skynet.PTYPE_CLIENT,
  unpack = function(msg, sz) return pcall(core.unpackrequest, msg, sz) end,
  dispatch = on_frame,
}

skynet.start(function()
  -- The connection may already be gone; its close reaches clusterd, which stops us.
  pcall(skynet.call, gate, "lua", "forward", fd)
  skynet.dispatch("lua", function(_, source, cmd)
    if cmd == "exit" then
      socket.close_fd(fd)
      skynet.exit()
    elseif cmd == "namechange" then
      new_name_cache()
    else
      skynet.error(string.format("clusteragent: unknown command %s from %s", cmd, skynet.address(source)))
    end
  end)
end)
