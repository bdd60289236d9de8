-- `.cslave` of harbor mode (docs/HARBOR.md): the node's link to the master, the harbor links
-- it opens (to nodes that join later) or accepts (from nodes that were there first, during its
-- own boot only) and hands to the native harbor service, its copy of the global names, and
-- the skynet.harbor API (REGISTER, QUERYNAME, LINK, CONNECT, LINKMASTER).
--
-- Differences from skynet's cslave: a harbor id that left may come back (when the master
-- announces it again, this node links to it again); registering a name this node knows
-- already is an error with the name in it.
local skynet = require "skynet"
local socket = require "skynet.socket"
local packet = require "skynet.harbor.packet"
require "skynet.manager"

local harbor_id = assert(tonumber(skynet.getenv "harbor"))
local harbor_service
local master_fd

local globals = {} -- global name -> handle
local linked = {} -- harbor id -> true while a link to it is up
local gone = {} -- harbor id -> true once it left (master D, or its link closed)
local ready = false
local early_connects = {} -- C packets before ready: { id, address }
local early_names = {} -- names learned before ready

local query_waiters = {} -- name -> responses
local link_waiters = {} -- harbor id -> responses
local connect_waiters = {} -- harbor id -> responses
local master_waiters = {} -- responses of LINKMASTER
local never = {} -- responses that are never answered, kept so nothing reports them

local function release(list, ...)
  for _, response in ipairs(list or {}) do
    response(true, ...)
  end
end

local function wait_in(list)
  list[#list + 1] = skynet.response()
end

local function waiters(t, key)
  local list = t[key]
  if not list then
    list = {}
    t[key] = list
  end
  return list
end

local read_packet = packet.read
local write_packet = packet.write

local function to_master(...)
  if master_fd then
    write_packet(master_fd, ...)
  end
end

local function tell_harbor(text, source)
  skynet.redirect(harbor_service, source or skynet.self(), "harbor", 0, text)
end

local function learn_name(name, handle)
  globals[name] = handle
  local list = query_waiters[name]
  query_waiters[name] = nil
  release(list, handle)
  if ready then
    tell_harbor("N " .. name, handle)
  else
    early_names[name] = true
  end
end

local function link_recorded(id)
  linked[id] = true
  gone[id] = nil
  local list = connect_waiters[id]
  connect_waiters[id] = nil
  release(list)
end

local function link_lost(id)
  linked[id] = nil
  gone[id] = true
  local list = link_waiters[id]
  link_waiters[id] = nil
  release(list)
end

local function connect_to(id, address)
  if linked[id] or id == harbor_id then
    return
  end
  local host, port = address:match "^(.*):(%d+)$"
  local fd = host and socket.open(host, tonumber(port))
  if not fd then
    skynet.error("cslave: Can't connect to " .. address)
    return
  end
  skynet.error(string.format("Connect to harbor %d (fd=%d), %s", id, fd, address))
  link_recorded(id)
  socket.abandon(fd)
  tell_harbor(string.format("S %d %d", fd, id))
end

local master_packet = {}

function master_packet.C(id, address)
  assert(math.type(id) == "integer" and id > 0 and id < 256 and type(address) == "string")
  if ready then
    connect_to(id, address)
  else
    early_connects[#early_connects + 1] = { id, address }
  end
end

function master_packet.N(name, handle)
  assert(type(name) == "string" and math.type(handle) == "integer")
  learn_name(name, handle)
end

-- The master's word that a node left; the link itself, if still up, is left alone.
function master_packet.D(id)
  assert(math.type(id) == "integer")
  link_lost(id)
end

local function read_master()
  while true do
    local ok, t, a, b = pcall(read_packet, master_fd)
    if not ok then
      break
    end
    local f = master_packet[t]
    if f and not pcall(f, a, b) then
      skynet.error("Invalid master packet " .. tostring(t))
    end
  end
  skynet.error "Master disconnect"
  socket.close(master_fd)
  master_fd = nil
  local list = master_waiters
  master_waiters = {}
  release(list)
end

-- Links from the nodes that were there first, during this node's boot.
local function accept_links(listener, count)
  local accepted = 0
  local booting = coroutine.running()
  socket.start(listener, function(fd, address)
    skynet.error(string.format("New connection (fd = %d, %s)", fd, address))
    socket.start(fd)
    local byte = socket.read(fd, 1)
    if not byte then
      skynet.error(string.format("Connection (fd =%d) closed", fd))
      socket.close(fd)
      return
    end
    local id = byte:byte()
    if linked[id] or id == harbor_id then
      skynet.error(string.format("Slave %d exist (fd =%d)", id, fd))
      socket.close(fd)
      return
    end
    link_recorded(id)
    skynet.error(string.format("Harbor %d connected (fd = %d)", id, fd))
    socket.abandon(fd)
    tell_harbor(string.format("A %d %d", fd, id))
    accepted = accepted + 1
    if accepted == count then
      skynet.wakeup(booting)
    end
  end)
  skynet.wait(booting)
end

local command = {}

function command.REGISTER(name, handle)
  if globals[name] ~= nil then
    error(string.format("global name %s is already registered (to :%08x)", name, globals[name]))
  end
  to_master("R", name, handle)
  learn_name(name, handle)
  -- Sends by name on this node work at once, even before the master answers.
  if not ready then
    tell_harbor("N " .. name, handle)
  end
end

function command.QUERYNAME(name)
  if name:sub(1, 1) == "." then
    skynet.retpack(skynet.localname(name))
    return
  end
  local handle = globals[name]
  if handle then
    skynet.retpack(handle)
    return
  end
  local list = waiters(query_waiters, name)
  if #list == 0 then
    to_master("Q", name)
  end
  wait_in(list)
end

function command.LINK(id)
  if linked[id] then
    wait_in(waiters(link_waiters, id))
  else
    skynet.ret()
  end
end

function command.CONNECT(id)
  if linked[id] then
    skynet.ret()
  elseif id == harbor_id then
    wait_in(never)
  else
    wait_in(waiters(connect_waiters, id))
  end
end

function command.LINKMASTER()
  wait_in(master_fd and master_waiters or never)
end

skynet.register_protocol {
  name = "harbor",
  id = skynet.PTYPE_HARBOR,
}

-- Notifications of the harbor service: "Q name" (a message waits for a name), "D id" (a link
-- closed).
skynet.register_protocol {
  name = "text",
  id = skynet.PTYPE_TEXT,
  unpack = skynet.tostring,
  dispatch = function(_, _, text)
    local what, arg = text:match "^(%a) (.+)$"
    if what == "Q" then
      if globals[arg] then
        tell_harbor("N " .. arg, globals[arg])
      else
        to_master("Q", arg)
      end
    elseif what == "D" then
      link_lost(tonumber(arg))
    end
  end,
}

skynet.dispatch("lua", function(_, _, cmd, ...)
  local f = assert(command[cmd], cmd)
  f(...)
end)

skynet.start(function()
  local address = assert(skynet.getenv "address")
  local master = assert(skynet.getenv "master")
  local listener = socket.listen(address)
  skynet.error("slave connect to master " .. master)
  local host, port = master:match "^(.*):(%d+)$"
  master_fd = host and socket.open(host, tonumber(port))
  if not master_fd then
    error "Can't connect to master"
  end
  harbor_service = assert(skynet.launch("harbor", harbor_id, skynet.self()))
  write_packet(master_fd, "H", harbor_id, address)
  local t, count = read_packet(master_fd)
  assert(t == "W" and math.type(count) == "integer", "slave shakehand failed")
  skynet.error(string.format("Waiting for %d harbors", count))
  skynet.fork(read_master)
  if count > 0 then
    accept_links(listener, count)
  end
  socket.close(listener)
  skynet.error "Shakehand ready"
  skynet.fork(function()
    ready = true
    for _, c in ipairs(early_connects) do
      connect_to(c[1], c[2])
    end
    early_connects = nil
    for name in pairs(early_names) do
      tell_harbor("N " .. name, globals[name])
    end
    early_names = nil
  end)
end)
