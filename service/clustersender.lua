-- clustersender: the one connection of this node to a remote node (docs/CLUSTER.md).
--
-- Started by clusterd with (node, nodename, address). Turns "req" and "push" from local
-- services into request frames on a session-mode socketchannel and answers each "req" with
-- the remote reply. There is no background reconnect: after a drop the next request dials
-- again, and requests in flight at the drop fail.

local skynet = require "skynet"
local socketchannel = require "skynet.socketchannel"
local socket = require "skynet.socket"
local core = require "skynet.cluster.core"

local node, nodename, address = ...
local channel
local next_session = 1 -- survives reconnects; core.packrequest wraps it

-- session, ok, data, more: the response reader of the channel.
local function read_response(sock)
  local size = socket.header(sock:read(2))
  return core.unpackresponse(sock:read(size))
end

-- The trace tag names this node, the remote node and the session after the request's, so
-- that both ends' trace logs can be joined.
local function send_trace(tag)
  if tag:sub(1, 1) ~= "(" then
    local full = string.format("(%s-%s-%d)%s", nodename, node, next_session, tag)
    skynet.tracelog(tag, "session " .. full)
    tag = full
  end
  skynet.tracelog(tag, "cluster " .. node)
  channel:request(core.packtrace(tag))
end

-- packrequest takes over msg (and frees it), whatever happens next.
local function request(target, msg, sz)
  local session = next_session
  local frame, following, parts = core.packrequest(target, session, msg, sz)
  next_session = following
  local tag = skynet.tracetag()
  if tag then
    send_trace(tag)
  end
  return channel:request(frame, session, parts)
end

local command = {}

function command.req(...)
  local ok, reply = pcall(request, ...)
  if not ok then
    skynet.error(reply)
    skynet.response()(false)
  elseif type(reply) == "table" then
    skynet.ret(core.concat(reply)) -- a split reply; nothing when its total was wrong
  else
    skynet.ret(reply)
  end
end

function command.push(target, msg, sz)
  local frame, following, parts = core.packpush(target, next_session, msg, sz)
  if parts then -- a split push carries a session of its own
    next_session = following
  end
  channel:request(frame, nil, parts)
end

function command.changenode(host)
  if host then
    channel:changehost(host)
    channel:connect(true)
  else
    skynet.error("Close cluster sender", channel.__host, channel.__port)
    channel:close()
  end
  skynet.ret(skynet.pack(nil))
end

skynet.start(function()
  channel = socketchannel.channel {
    host = address,
    response = read_response,
    nodelay = true,
  }
  skynet.dispatch("lua", function(_, _, cmd, ...)
    local f = assert(command[cmd], cmd)
    f(...)
  end)
end)
