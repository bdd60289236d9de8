-- clusterd: the cluster's one service per node (docs/CLUSTER.md).
--
-- Keeps the node table (from the `cluster` config file and cluster.reload), creates one
-- clustersender per remote node and one clusterproxy per remote address, listens for other
-- nodes (one clusteragent per inbound connection), and holds the registry of cluster names
-- that remote nodes reach as "@name".

local skynet = require "skynet"
require "skynet.manager"
local socket = require "skynet.socket"
local socketdriver = require "skynet.socketdriver"
local core = require "skynet.cluster.core"

local config_file = skynet.getenv "cluster"
local nodename = core.nodename()

local nodes = {} -- node -> "host:port", or false for a node that is down; never removed
local options = {} -- __name = value entries of the node table
local senders = {} -- node -> its clustersender, kept for clusterd's lifetime
local sender_closed = {} -- node -> true once its sender was closed for a false entry
local connected = {} -- node -> its sender, known to be connected to the current address
local resolving = {} -- node -> a lookup in progress: { waiters..., absent_waiter, sender, err }

local resolve

-- One lookup for `node` at a time; the others wait for its outcome. A node whose entry changed
-- while the lookup ran is looked up again.
local function lookup(node, r)
  local address = nodes[node]
  if address == nil and not options.nowaiting then
    skynet.error("Waiting for cluster node [" .. node .. "]")
    r.absent_waiter = coroutine.running()
    skynet.wait(r.absent_waiter)
    r.absent_waiter = nil
    address = nodes[node]
  end
  if address then
    local sender = senders[node]
    if not sender then
      sender = skynet.newservice("clustersender", node, nodename, address)
      senders[node] = sender
    end
    if pcall(skynet.call, sender, "lua", "changenode", address) then
      connected[node] = sender
      sender_closed[node] = nil
      r.sender = sender
    else
      r.err = string.format("changenode [%s] (%s) failed", node, address)
    end
  elseif address == false then
    local sender = senders[node]
    if sender and not sender_closed[node] then
      local ok, err = pcall(skynet.call, sender, "lua", "changenode", false)
      if ok then
        sender_closed[node] = true
      else
        r.err = err
      end
    end
  else
    r.err = string.format("cluster node [%s] is absent.", node)
  end
  return address
end

function resolve(node)
  local r = resolving[node]
  if r then
    local me = coroutine.running()
    r[#r + 1] = me
    skynet.wait(me)
  else
    r = {}
    resolving[node] = r
    local address = lookup(node, r)
    resolving[node] = nil
    if nodes[node] ~= address then
      -- The entry changed meanwhile: look it up again; our waiters get that outcome.
      local ok, sender = pcall(resolve, node)
      r.sender, r.err = ok and sender or nil, not ok and sender or nil
    end
    for _, co in ipairs(r) do
      skynet.wakeup(co)
    end
  end
  if r.err then error(r.err, 0) end
  return r.sender
end

local function load_table(t)
  if t == nil then
    t = {}
    if config_file then
      local f = assert(io.open(config_file))
      local source = f:read "a"
      f:close()
      assert(load(source, "@" .. config_file, "t", t))()
    end
  end
  for name, value in pairs(t) do
    if type(name) ~= "string" then
      error("cluster config: a node name must be a string, not " .. tostring(name))
    end
    if name:sub(1, 2) ~= "__" and value ~= false and type(value) ~= "string" then
      error(string.format("cluster config: node [%s] must be \"host:port\" or false, not %s", name, tostring(value)))
    end
  end
  return t
end

-- Merges a table (or the config file) into the node table (docs/CLUSTER.md, "Reload").
local function reload(t)
  t = load_table(t)
  local changed = {}
  for name, value in pairs(t) do
    if name:sub(1, 2) == "__" then
      local option = name:sub(3)
      options[option] = value
      skynet.error(string.format("Config %s = %s", option, value))
    else
      if nodes[name] ~= value then
        nodes[name] = value
        if senders[name] then
          connected[name] = nil
          changed[#changed + 1] = name
        end
      end
      local r = resolving[name]
      if r and r.absent_waiter and not options.nowaiting then
        skynet.error(string.format("Cluster node [%s] resolved : %s", name, value))
        skynet.wakeup(r.absent_waiter)
      end
    end
  end
  if options.nowaiting then
    for _, r in pairs(resolving) do
      if r.absent_waiter then skynet.wakeup(r.absent_waiter) end
    end
  end
  for _, name in ipairs(changed) do
    local function switch()
      local ok, err = pcall(resolve, name)
      if not ok then skynet.error(err) end
    end
    if nodes[name] == false and not resolving[name] then
      -- Closing is quick: done before reload returns, so a call made after it fails for sure
      -- (skynet closes in the background, and such a call may still get through).
      switch()
    else
      skynet.fork(switch) -- connecting to the new address may take long
    end
  end
end

local command = {}

function command.reload(_, t)
  reload(t)
end

function command.sender(_, node)
  return connected[node] or resolve(node)
end

function command.senders()
  return senders
end

-- The listeners: clusterd accepts connections itself and gives each to a clusteragent, which
-- then owns the socket (skynet puts a gate service in between; the behaviour is the same).
local agents = {} -- fd -> its clusteragent; false while it starts, true if it exited meanwhile
local listener_of = {} -- fd -> its listener: { clients, maxclient }

local function accept(listener, fd, addr)
  -- Counted before the test, as skynet's gate does: at most maxclient - 1 connections.
  if listener.clients + 1 >= listener.maxclient then
    skynet.error(string.format("cluster: refusing %s: %d connections already", addr, listener.clients))
    socketdriver.close(fd)
    return
  end
  listener.clients = listener.clients + 1
  listener_of[fd] = listener
  skynet.error("socket accept from " .. tostring(addr))
  agents[fd] = false
  local ok, agent = pcall(skynet.newservice, "clusteragent", skynet.self(), fd)
  if not ok then
    socketdriver.close(fd)
    listener.clients = listener.clients - 1
    listener_of[fd] = nil
    agents[fd] = nil
  elseif agents[fd] == true then -- its connection closed, and it exited, while it started
    agents[fd] = nil
  else
    agents[fd] = agent
  end
end

-- open(port) listens on addr:port and returns the bound address; open(name) listens on the
-- node's configured address and returns name, nil (as skynet does).
function command.listen(_, addr, port, maxclient)
  local host = addr
  if port == nil then
    host = nodes[addr] or error(addr .. " is down")
  end
  skynet.error(port and string.format("Listen on %s %d", host, port) or "Listen on " .. host)
  local ok, id, bound, bound_port = pcall(socket.listen, host, port)
  if not ok or not id then
    error(string.format("cluster.open %s failed: %s", host, tostring(id)))
  end
  local listener = { clients = 0, maxclient = maxclient or 1024 }
  socket.start(id, function(fd, peer)
    accept(listener, fd, peer)
  end)
  if port == nil then
    return addr, nil
  end
  return bound, bound_port
end

local proxies = {} -- "node.address" -> clusterproxy

function command.proxy(_, node, address)
  if address == nil then
    node, address = node:match "^([^@.]+)([@.].+)"
    if address == nil then
      error("Invalid name " .. tostring(node))
    end
  end
  local key = node .. "." .. address
  local proxy = proxies[key]
  if not proxy then
    proxy = skynet.newservice("clusterproxy", node, address)
    if proxies[key] then -- made meanwhile by another caller
      skynet.kill(proxy)
      proxy = proxies[key]
    else
      proxies[key] = proxy
    end
  end
  return proxy
end

-- The registry: name -> handle and handle -> name, one name per service.
local registered = {}

local function names_changed()
  for _, agent in pairs(agents) do
    if math.type(agent) == "integer" then
      skynet.send(agent, "lua", "namechange")
    end
  end
end

function command.register(source, name, addr)
  assert(registered[name] == nil, "cluster.register: name [" .. name .. "] is taken")
  addr = addr or source
  local old = registered[addr]
  if old then
    registered[old] = nil
    names_changed()
  end
  registered[addr] = name
  registered[name] = addr
  skynet.error(string.format("Register [%s] :%08x", name, addr))
end

function command.unregister(_, name)
  local addr = registered[name]
  if addr then
    registered[addr] = nil
    registered[name] = nil
    names_changed()
    skynet.error(string.format("Unregister [%s] :%08x", name, addr))
  end
end

function command.queryname(_, name)
  return registered[name]
end

-- A clusteragent is done: its connection closed.
function command.agent_exit(_, fd)
  local listener = listener_of[fd]
  if listener then
    listener.clients = listener.clients - 1
    listener_of[fd] = nil
  end
  if agents[fd] == false then
    agents[fd] = true
  else
    agents[fd] = nil
  end
end

skynet.start(function()
  reload()
  skynet.dispatch("lua", function(session, source, cmd, ...)
    local f = assert(command[cmd], cmd)
    if session == 0 then
      f(source, ...)
    else
      skynet.retpack(f(source, ...))
    end
  end)
end)
