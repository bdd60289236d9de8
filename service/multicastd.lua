-- The multicast service (docs/LIBRARIES.md "multicast"): channel ids, subscribers, and the fan
-- out of each published package to the local subscribers and to the other harbor nodes that
-- subscribe.
--
-- The low 8 bits of a channel id name the owning harbor node. The owner keeps, per channel,
-- the set of nodes that subscribe (SUBR / USUBR); a node that subscribes to a remote channel
-- keeps a local group for it and sends its publishes to the owner, which fans them out. So all
-- messages of a channel pass through the owner, which keeps one publisher's order everywhere.
-- Between nodes a message travels as its packed bytes (PTYPE_MULTICAST, session = channel id).
local skynet = require "skynet"
local mc = require "skynet.multicast.core"
local datacenter = require "skynet.datacenter"

local harbor_id = skynet.harbor(skynet.self())
local next_id = harbor_id
local channels = {}    -- id -> { [subscriber] = true }
local counts = {}      -- id -> number of subscribers
local remote_nodes = {} -- id of a local channel -> { [harbor id] = true } of subscribing nodes

local function owner(c)
  return c & 0xff
end

-- The multicastd of another node, registered there in the datacenter; nil when that harbor has
-- none (an id of no node: its requests are dropped, as for an unknown local channel).
local peers = {}
local function peer(node)
  local addr = peers[node]
  if addr == nil then
    addr = datacenter.get("multicast", node)
    peers[node] = addr
  end
  return addr
end

local function forget(c)
  channels[c] = nil
  counts[c] = nil
  remote_nodes[c] = nil
end

local function send_to_node(node, c, source, msg, sz)
  local addr = peer(node)
  if addr then
    skynet.redirect(addr, source, "multicast", c, msg, sz)
  end
end

-- Delivers a package (a holder pointer and its size) of channel c published by source.
local function publish(c, source, holder, size)
  local nodes = remote_nodes[c]
  if nodes and next(nodes) then
    -- Other nodes get the bytes, never the pointer.
    local _, data, sz = mc.unpack(holder, size)
    local bytes = skynet.tostring(data, sz)
    for node in pairs(nodes) do
      send_to_node(node, c, source, bytes)
    end
  end
  local group = channels[c]
  local n = counts[c]
  if group == nil or n == 0 then
    mc.close(mc.bind(holder, 1)) -- nobody here to deliver to
    return
  end
  local msg = skynet.tostring(holder, size) -- the package address, copied for each delivery
  mc.bind(holder, n)
  for subscriber in pairs(group) do
    skynet.redirect(subscriber, source, "multicast", c, msg)
  end
end

local NORET = {}
local command = {}

function command.NEW()
  while channels[next_id] do next_id = mc.nextid(next_id) end
  local id = next_id
  channels[id] = {}
  counts[id] = 0
  next_id = mc.nextid(next_id)
  return id
end

function command.SUB(source, c)
  local node = owner(c)
  if node ~= harbor_id and channels[c] == nil then
    local addr = peer(node)
    if addr == nil or skynet.call(addr, "lua", "SUBR", c) then
      return -- no such channel on its owner
    end
    if channels[c] == nil then -- another SUB may have made it while the call waited
      channels[c] = {}
      counts[c] = 0
    end
  end
  local group = channels[c]
  if group and not group[source] then
    group[source] = true
    counts[c] = counts[c] + 1
  end
end

function command.USUB(source, c)
  local group = assert(channels[c])
  if not group[source] then return NORET end
  group[source] = nil
  counts[c] = counts[c] - 1
  local node = owner(c)
  if counts[c] == 0 and node ~= harbor_id then
    forget(c)
    skynet.send(peer(node), "lua", "USUBR", c)
  end
  return NORET
end

function command.DEL(_, c)
  local node = owner(c)
  if node ~= harbor_id then
    local addr = peer(node)
    if addr then skynet.send(addr, "lua", "DEL", c) end
    return NORET
  end
  local nodes = remote_nodes[c]
  forget(c)
  for n in pairs(nodes or {}) do
    skynet.send(peer(n), "lua", "DELR", c)
  end
  return NORET
end

function command.PUB(source, c, holder, size)
  assert(skynet.harbor(source) == harbor_id, "PUB from another node")
  local node = owner(c)
  if node ~= harbor_id then
    if peer(node) then
      send_to_node(node, c, source, mc.remote(holder))
    else
      mc.close(mc.bind(holder, 1))
    end
  else
    publish(c, source, holder, size)
  end
end

-- From another node's multicastd: that node subscribes to a channel of this one. Replies true
-- when the channel does not exist.
function command.SUBR(source, c)
  if channels[c] == nil then return true end
  local node = skynet.harbor(source)
  assert(node ~= harbor_id and owner(c) == harbor_id, "SUBR for a channel of another node")
  -- Looked up now: publish must not wait on the datacenter, a later message would overtake.
  assert(peer(node), "SUBR from a node without multicastd")
  local nodes = remote_nodes[c]
  if nodes == nil then
    nodes = {}
    remote_nodes[c] = nodes
  end
  nodes[node] = true
end

function command.USUBR(source, c)
  local node = skynet.harbor(source)
  assert(node ~= harbor_id, "USUBR from this node")
  local nodes = assert(remote_nodes[c])
  nodes[node] = nil
  return NORET
end

-- From the owner: the channel is gone.
function command.DELR(source, c)
  local node = owner(c)
  assert(node ~= harbor_id and skynet.harbor(source) == node, "DELR not from the owner node")
  forget(c)
  return NORET
end

-- A message from another node: its bytes, copied into a package, published here. On the owner
-- that also passes it on to the other subscribing nodes.
skynet.register_protocol {
  name = "multicast",
  id = skynet.PTYPE_MULTICAST,
  unpack = mc.packremote,
  dispatch = function(c, source, holder, size)
    skynet.ignoreret()
    publish(c, source, holder, size)
  end,
}

skynet.start(function()
  skynet.dispatch("lua", function(_, source, cmd, ...)
    local f = assert(command[cmd], cmd)
    local r = f(source, ...)
    if r ~= NORET then
      skynet.ret(skynet.pack(r))
    end
  end)
  assert(datacenter.set("multicast", harbor_id, skynet.self()) == nil)
end)
