-- skynet.cluster: calls and sends to services on other nodes (docs/CLUSTER.md).
--
-- Every node runs one clusterd. A service talks to the sender of a remote node directly once
-- it knows that sender's handle; until then its calls and sends to the node wait, in the order
-- they were made, behind one lookup that asks clusterd.

local skynet = require "skynet"
local core = require "skynet.cluster.core"

local cluster = {}

-- A push whose payload is shorter than this is one frame with session 0, which this service can
-- build itself and hand to the sender to write as it is (docs/CLUSTER.md, "Architecture"); a
-- longer one is split and takes a session of the sender's.
local single_frame_limit = 32768
local PTYPE_CLIENT = skynet.PTYPE_CLIENT

local clusterd
local sender_of = {} -- node -> sender handle, cached after a successful lookup
local lookup_of = {} -- node -> the lookup in progress: { waiting items..., sender, err }

-- Items of a lookup's queue: a call is the coroutine waiting to make it, a send is the packed
-- string of (address, ...).
local function address_and_message(address, ...)
  return address, skynet.pack(...)
end

local function run_queue(lookup)
  local me = coroutine.running()
  lookup.resume = me
  for _, item in ipairs(lookup) do
    if type(item) == "string" then
      if lookup.sender then
        skynet.send(lookup.sender, "lua", "push", address_and_message(skynet.unpack(item)))
      end
    else
      -- The call goes out before its coroutine waits for the reply and wakes us, so calls
      -- leave in the order they were made.
      skynet.wakeup(item)
      skynet.wait(me)
    end
  end
end

local function look_up(node, lookup)
  local ok, sender = pcall(skynet.call, clusterd, "lua", "sender", node)
  if ok then
    lookup.sender = sender
    if not sender then
      lookup.err = string.format("cluster node [%s] is down", node)
    end
  else
    skynet.error(sender)
    lookup.err = string.format("cluster node [%s] is not reachable", node)
  end
  run_queue(lookup)
  lookup_of[node] = nil
  sender_of[node] = lookup.sender
end

local function lookup_for(node)
  local lookup = lookup_of[node]
  if not lookup then
    lookup = {}
    lookup_of[node] = lookup
    skynet.fork(look_up, node, lookup)
  end
  return lookup
end

-- The sender of `node`, waiting for the lookup when it is not known yet; raises when the node
-- has none (down, absent with __nowaiting, or unreachable on first use).
local function sender_for(node)
  local sender = sender_of[node]
  if sender then
    return sender
  end
  local lookup = lookup_for(node)
  local me = coroutine.running()
  lookup[#lookup + 1] = me
  skynet.wait(me)
  -- Our call must be on its way before the queue moves on: wake it after this turn.
  skynet.wakeup(lookup.resume)
  return lookup.sender or error(lookup.err, 2)
end

cluster.get_sender = sender_for

function cluster.call(node, address, ...)
  local sender = sender_of[node]
  if sender then
    return skynet.call(sender, "lua", "req", address, skynet.pack(...))
  end
  -- Pack now: the arguments may change while the lookup runs.
  local packed = skynet.packstring(address, ...)
  return skynet.call(sender_for(node), "lua", "req", address_and_message(skynet.unpack(packed)))
end

function cluster.send(node, address, ...)
  local sender = sender_of[node]
  if sender then
    local msg, sz = skynet.pack(...)
    if sz >= single_frame_limit then
      skynet.send(sender, "lua", "push", address, msg, sz)
      return
    end
    -- packpush takes msg over; a bad address is logged, as the sender would log it
    -- (a single-frame push carries session 0 whatever session it is given)
    local ok, frame = pcall(core.packpush, address, 1, msg, sz)
    if ok then
      skynet.redirect(sender, 0, PTYPE_CLIENT, 0, frame)
    else
      skynet.error(frame)
    end
  else
    local lookup = lookup_for(node)
    lookup[#lookup + 1] = skynet.packstring(address, ...)
  end
end

function cluster.open(port, maxclient)
  if type(port) == "string" then
    return skynet.call(clusterd, "lua", "listen", port, nil, maxclient)
  end
  return skynet.call(clusterd, "lua", "listen", "0.0.0.0", port, maxclient)
end

function cluster.reload(config)
  skynet.call(clusterd, "lua", "reload", config)
end

function cluster.proxy(node, name)
  return skynet.call(clusterd, "lua", "proxy", node, name)
end

function cluster.snax(node, name, address)
  local snax = require "skynet.snax"
  if not address then
    address = cluster.call(node, ".service", "QUERY", "snaxd", name)
  end
  return snax.bind(skynet.call(clusterd, "lua", "proxy", node, address), name)
end

function cluster.register(name, addr)
  assert(type(name) == "string", "cluster.register: the name must be a string")
  assert(addr == nil or math.type(addr) == "integer", "cluster.register: bad address")
  return skynet.call(clusterd, "lua", "register", name, addr)
end

function cluster.unregister(name)
  assert(type(name) == "string", "cluster.unregister: the name must be a string")
  return skynet.call(clusterd, "lua", "unregister", name)
end

-- Address 0 asks the remote clusterd's registry for a name.
function cluster.query(node, name)
  return skynet.call(sender_for(node), "lua", "req", 0, skynet.pack(name))
end

skynet.init(function()
  clusterd = skynet.uniqueservice "clusterd"
end)

return cluster
