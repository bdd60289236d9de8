-- skynet.db.redis.cluster: a Redis Cluster client over skynet.db.redis (docs/REDIS.md).
--
-- Keeps a slot -> master map read with CLUSTER SLOTS, one connection per node, follows
-- MOVED and ASK redirections, and sends pub/sub commands through one watch connection per
-- node whose messages go to the onmessage callback. Any method that is not defined here is
-- a command: db:get("k") is db:call("get", "k").

local skynet = require "skynet"
local redis = require "skynet.db.redis"
local socketchannel = require "skynet.socketchannel"
local crc16 = require "skynet.db.redis.crc16"

local pack, unpack = table.pack, table.unpack
local format = string.format

local HASH_SLOTS = 16384
local MAX_REDIRECTIONS = 16

local M = {}

local client = {}
client.__index = client

function M.new(startup_nodes, opt, onmessage)
  if #startup_nodes == 0 then
    startup_nodes = { startup_nodes } -- a single node given as {host=, port=}
  end
  opt = opt or {}
  local self = setmetatable({
    startup_nodes = startup_nodes,
    max_connections = opt.max_connections or 256,
    connections = {}, -- node name -> redis connection
    opt = opt,
    refresh_table_asap = false,
    slots = {}, -- slot -> master node
    nodes = {}, -- the masters of the last slot map
    __onmessage = onmessage,
    __watching = {}, -- node name -> redis.watch object
    __inflight = {}, -- key -> coroutines waiting for a connection being made
  }, client)
  self:initialize_slots_cache()
  return self
end

local function node_name(node)
  return format("%s:%d", node.host, node.port)
end

function client:set_node_name(node)
  if not node.name then node.name = node_name(node) end
end

-- Runs f once per key at a time: concurrent callers with the same key wait for the first
-- one's result (so two coroutines never open two connections to one node).
local function single_flight(self, key, f, ...)
  local inflight = rawget(self, "__inflight")
  local job = inflight[key]
  if job then
    local co = coroutine.running()
    job[#job + 1] = co
    skynet.wait(co)
    return job.ok, job.value
  end
  job = {}
  inflight[key] = job
  job.ok, job.value = pcall(f, ...)
  inflight[key] = nil
  for _, co in ipairs(job) do skynet.wakeup(co) end
  return job.ok, job.value
end

local function link_conf(self, node)
  local opt = self.opt
  return {
    host = node.host,
    port = node.port,
    auth = opt.auth,
    username = opt.username,
    db = opt.db or 0,
    timeout = opt.timeout,
  }
end

function client:get_redis_link(node)
  return redis.connect(link_conf(self, node))
end

---------------------------------------------------------------------------------------------
-- Slot map

local function parse_node(entry, default_host)
  local host, port = entry[1], tonumber(entry[2])
  assert(type(host) == "string" and port, "CLUSTER SLOTS: bad node entry")
  if host == "" then host = default_host end -- the node does not know its own address
  return { host = host, port = port, name = node_name { host = host, port = port } }
end

-- Reads CLUSTER SLOTS from the first startup node that answers. The old map is kept when
-- none does.
function client:initialize_slots_cache()
  for _, startup in ipairs(self.startup_nodes) do
    local ok, slots, nodes = pcall(function()
      local list = self:get_connection(startup):cluster("slots")
      local slots, nodes = {}, {}
      for _, range in ipairs(list) do
        local master = parse_node(range[3], startup.host)
        master.slaves = {}
        for i = 4, #range do
          master.slaves[#master.slaves + 1] = parse_node(range[i], startup.host)
        end
        nodes[#nodes + 1] = master
        for slot = tonumber(range[1]), tonumber(range[2]) do
          slots[slot] = master
        end
      end
      return slots, nodes
    end)
    if ok then
      self.slots, self.nodes = slots, nodes
      self.refresh_table_asap = false
      return
    end
  end
end

-- Forget the slot map (the next commands go to random nodes and learn it from MOVED).
function client:flush_slots_cache()
  self.slots = {}
end

-- The hash slot of a key: only the part inside the first non-empty {...} is hashed.
function client:keyslot(key)
  key = tostring(key)
  local open = string.find(key, "{", 1, true)
  if open then
    local close = string.find(key, "}", open + 1, true)
    if close and close > open + 1 then
      key = string.sub(key, open + 1, close - 1)
    end
  end
  return crc16(key) % HASH_SLOTS
end

local undispatchable = {
  info = true, multi = true, exec = true, slaveof = true, config = true, shutdown = true,
}

-- The key that decides the node: the first argument, except for commands that have none
-- (nil) and EVAL/EVALSHA, whose keys must all map to one slot.
function client:get_key_from_command(cmd, argv)
  if undispatchable[cmd] then return nil end
  if cmd == "eval" or cmd == "evalsha" then
    local numkeys = tonumber(argv[3]) or 0
    local first
    for i = 4, 3 + numkeys do
      local slot = self:keyslot(argv[i])
      if first == nil then
        first = slot
      elseif slot ~= first then
        error(cmd .. " - all keys must map to the same key slot")
      end
    end
    return argv[4]
  end
  return argv[2]
end

---------------------------------------------------------------------------------------------
-- Connections

-- Makes room for one more connection when max_connections are open.
function client:close_existing_connection()
  local count = 0
  for _ in pairs(self.connections) do count = count + 1 end
  if count >= self.max_connections then
    local name, conn = next(self.connections)
    self.connections[name] = nil
    pcall(conn.disconnect, conn)
  end
end

function client:close_all_connection()
  local connections = self.connections
  self.connections = {}
  for _, conn in pairs(connections) do
    pcall(conn.disconnect, conn)
  end
end

local function open_connection(self, node, name)
  local conn = self.connections[name]
  if not conn then
    self:close_existing_connection()
    conn = self:get_redis_link(node)
    self.connections[name] = conn
  end
  return conn
end

function client:get_connection(node)
  self:set_node_name(node)
  local name = node.name
  local conn = self.connections[name]
  if conn then return conn end
  local ok, result = single_flight(self, name, open_connection, self, node, name)
  if not ok then error(result, 0) end
  return result
end

-- A connection to a node that answers PING, trying the known masters in random order
-- (the startup nodes when no slot map was ever read).
function client:get_random_connection()
  local nodes = #self.nodes > 0 and self.nodes or self.startup_nodes
  local order = {}
  for i = 1, #nodes do order[i] = i end
  for i = 1, #nodes do
    local j = math.random(i, #nodes)
    order[i], order[j] = order[j], order[i]
  end
  for _, i in ipairs(order) do
    local node = nodes[i]
    local ok, conn = pcall(self.get_connection, self, node)
    if ok then
      local pinged, pong = pcall(conn.ping, conn)
      if pinged and pong == "PONG" then return conn end
      if pinged then
        -- it answered something else: not a node to use
        self.connections[node.name] = nil
        pcall(conn.disconnect, conn)
      end
    end
  end
  error("Can't reach a single startup node.")
end

-- The connection to the master of a slot; with opt.read_slave, a replica (in READONLY
-- mode) when the master cannot be reached; a random node when the slot is unknown.
function client:get_connection_by_slot(slot)
  local node = self.slots[slot]
  if not node then return self:get_random_connection() end
  local ok, conn = pcall(self.get_connection, self, node)
  if ok then return conn end
  if self.opt.read_slave and node.slaves and #node.slaves > 0 then
    local replica = node.slaves[math.random(1, #node.slaves)]
    local replica_ok, replica_conn = pcall(self.get_connection, self, replica)
    if replica_ok then
      replica_conn:readonly()
      return replica_conn
    end
  end
  return self:get_random_connection()
end

---------------------------------------------------------------------------------------------
-- Dispatch

local watch_commands = { subscribe = true, psubscribe = true, unsubscribe = true, punsubscribe = true }

-- "<where>: MOVED 3999 127.0.0.1:6381" -> "MOVED", 3999, host, port.
local function redirection(err)
  if type(err) ~= "string" then return nil end
  local kind, slot, host, port = string.match(err, "(%u+) (%d+) (%S*):(%d+)$")
  if kind ~= "MOVED" and kind ~= "ASK" then return nil end
  return kind, tonumber(slot), host, tonumber(port)
end

local function send(conn, cmd, argv, asking)
  if asking then
    -- one write, so nothing can come between ASKING and the command
    return conn:pipeline { { "asking" }, { unpack(argv, 1, argv.n) } }
  end
  return conn[cmd](conn, unpack(argv, 2, argv.n))
end

function client:call(...)
  local argv = pack(...)
  local cmd = string.lower(argv[1])
  local key = self:get_key_from_command(cmd, argv)
  if key == nil then
    error("No way to dispatch this command to Redis Cluster: " .. tostring(argv[1]))
  end
  if watch_commands[cmd] then
    local w = self:get_watch_connection_by_slot(self:keyslot(key))
    return w[cmd](w, unpack(argv, 2, argv.n))
  end
  if self.refresh_table_asap then self:initialize_slots_cache() end

  local slot = self:keyslot(key)
  local asking, random, err = nil, false, nil
  for attempt = 1, MAX_REDIRECTIONS do
    local found, conn
    if asking then
      found, conn = pcall(self.get_connection, self, asking)
    elseif random then
      found, conn = pcall(self.get_random_connection, self)
    else
      found, conn = pcall(self.get_connection_by_slot, self, slot)
    end
    local result
    if found then
      result = pack(pcall(send, conn, cmd, argv, asking ~= nil))
      if result[1] then return unpack(result, 2, result.n) end
      err = result[2]
    else
      err = conn
    end
    asking, random = nil, false
    local kind, new_slot, host, port = redirection(err)
    if kind then
      if host == "" then host = self.startup_nodes[1].host end
      local node = { host = host, port = port }
      self:set_node_name(node)
      if kind == "ASK" then
        asking = node
      else
        -- the map is out of date: re-read it before the next command
        self.refresh_table_asap = true
        local old = self.slots[new_slot]
        node.slaves = old and old.slaves
        self.slots[new_slot] = node
      end
    elseif found and err ~= socketchannel.error then
      error(err, 0) -- a reply of the command itself (the EXEC array, a WRONGTYPE, ...)
    else
      -- the node is unreachable: ask another one, slowly after half the attempts
      random = true
      if attempt > MAX_REDIRECTIONS // 2 then skynet.sleep(10) end
    end
  end
  error(format("Too many Cluster redirections?,maybe node is disconnected (last error: %q)", tostring(err)))
end

---------------------------------------------------------------------------------------------
-- Pub/sub

function client:get_watch_connection_by_slot(slot)
  if not self.slots[slot] then self:initialize_slots_cache() end
  local node = assert(self.slots[slot], "no node serves this slot")
  return self:get_watch_connection(node)
end

-- Receives the messages of one watch connection until it is disconnected.
local function pump(w, onmessage)
  while getmetatable(w) do
    local ok, data, channel, pattern = pcall(w.message, w)
    if ok and data ~= nil and onmessage then
      local handled, e = pcall(onmessage, data, channel, pattern)
      if not handled then skynet.error("redis cluster onmessage: " .. tostring(e)) end
    end
  end
end

local function open_watch(self, node)
  local w = self.__watching[node.name]
  if not w then
    w = redis.watch(link_conf(self, node))
    self.__watching[node.name] = w
    skynet.fork(pump, w, rawget(self, "__onmessage"))
  end
  return w
end

function client:get_watch_connection(node)
  self:set_node_name(node)
  local ok, result = single_flight(self, "watch " .. node.name, open_watch, self, node)
  if not ok then error(result, 0) end
  return result
end

-- Every other method is a command.
setmetatable(client, {
  __index = function(t, cmd)
    local f = function(self, ...) return self:call(cmd, ...) end
    t[cmd] = f
    return f
  end,
})

return M
