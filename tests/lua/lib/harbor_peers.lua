-- harbor_peers: Starling nodes in harbor mode for the multi-node harbor cases. Each peer runs
-- tests/lua/services/harbor_peer.lua and is driven through the cluster ("@ctl": eval, spawn,
-- result), under the name it was started with.
--
--   local peers = require "harbor_peers"
--   local master_port = peers.free_port()
--   local a = peers.start("a", 1, master_port, true)   -- harbor 1, the standalone node
--   peers.eval("a", "return skynet.self()")
--   local poll = peers.spawn("a", "skynet.sleep(100) return 1")  -- poll() -> result or false
local skynet = require "skynet"
local socket = require "skynet.socket"
local cluster = require "skynet.cluster"
local nodes = require "nodes"
local T = require "testlib"

local peers = {}

peers.free_port = T.free_port

-- Starts node `name` as harbor `id` under the master at `master_port` (its standalone node
-- when `standalone`), on a free address; returns the nodes.start peer.
function peers.start(name, id, master_port, standalone)
  local extra = {
    string.format("harbor = %d", id),
    string.format('master = "127.0.0.1:%d"', master_port),
    string.format('address = "127.0.0.1:%d"', peers.free_port()),
  }
  if standalone then
    extra[#extra + 1] = string.format('standalone = "127.0.0.1:%d"', master_port)
  end
  local p = nodes.start(name, "harbor_peer", extra)
  cluster.reload { [name] = "127.0.0.1:" .. p.port }
  return p
end

-- Peers under one master at a free port, `group.port`: `group.start(name, id, standalone)`
-- starts one (as peers.start does) and keeps it as `group.nodes[name]`.
function peers.group()
  local group = { port = peers.free_port(), nodes = {} }
  function group.start(name, id, standalone)
    local p = peers.start(name, id, group.port, standalone)
    group.nodes[name] = p
    return p
  end
  return group
end

-- Runs `code` on peer `name` and returns its results.
function peers.eval(name, code)
  return cluster.call(name, "@ctl", "eval", code)
end

-- Runs `code` in a fork on peer `name`; returns a function that gives its result record once
-- it is done (false before).
function peers.spawn(name, code)
  local key = cluster.call(name, "@ctl", "spawn", code)
  return function()
    local r = cluster.call(name, "@ctl", "result", key)
    return r.done and r
  end
end

-- ---- the bytes of skynet's harbor (docs/HARBOR.md), for the cases that play a master, a
-- slave or a harbor over raw sockets -------------------------------------------------------

-- A master-link packet: one length byte, then skynet.pack of the values.
function peers.packet(...)
  local body = skynet.packstring(...)
  return string.char(#body) .. body
end

-- A harbor-link frame: big-endian length, payload, then source, type << 24 | dest, session.
function peers.frame(source, ptype, dest, session, payload)
  payload = payload or ""
  return string.pack(">I4", #payload + 12) .. payload
    .. string.pack(">I4I4I4", source, ptype << 24 | (dest & 0xffffff), session)
end

-- Reads one frame from socket `fd`: { source, type, dest, session, payload }, or nil at its end.
function peers.read_frame(fd)
  local head = socket.read(fd, 4)
  local length = head and string.unpack(">I4", head)
  local body = length and socket.read(fd, length)
  if not body then
    return nil
  end
  local source, dest, session = string.unpack(">I4I4I4", body, length - 11)
  return { source = source, type = dest >> 24, dest = dest & 0xffffff, session = session,
    payload = body:sub(1, length - 12) }
end

return peers
