-- The master of harbor mode (docs/HARBOR.md), run by the standalone node: it accepts the
-- slaves on config `standalone`, tells every slave about each newcomer, and keeps and relays
-- the global names. Master-link packets are one length byte, then skynet.pack of a one-letter
-- type and its values.
--
-- Two differences from skynet's master, both invisible on the wire:
-- * an id whose slave is gone may join again (skynet refuses it for as long as it runs);
-- * a name keeps its first owner everywhere: a second registration is answered with the first
--   owner's handle (skynet keeps the first in its table but broadcasts the latest, and the
--   nodes disagree from then on).
local skynet = require "skynet"
local socket = require "skynet.socket"
local packet = require "skynet.harbor.packet"

local slaves = {} -- harbor id -> { fd, address, alive }
local names = {} -- global name -> handle of its first registration

local function read_packet(fd)
  return packet.read(fd, true)
end

local write_packet = packet.write

local function broadcast(...)
  for _, s in pairs(slaves) do
    if s.alive then
      write_packet(s.fd, ...)
    end
  end
end

local function handshake(fd)
  local t, id, address = read_packet(fd)
  if t ~= "H" then
    error("Invalid handshake type " .. tostring(t))
  end
  if math.type(id) ~= "integer" or id < 0 or id > 255 or type(address) ~= "string" then
    error("Invalid slave id " .. tostring(id))
  end
  if id == 0 then
    error "Invalid slave id 0"
  end
  local old = slaves[id]
  if old and old.alive then
    error(string.format("Slave %d already register on %s", id, old.address))
  end
  local count = 0
  for _, s in pairs(slaves) do
    if s.alive then
      write_packet(s.fd, "C", id, address)
      count = count + 1
    end
  end
  write_packet(fd, "W", count)
  slaves[id] = { fd = fd, address = address, alive = true }
  skynet.error(string.format("Harbor %d (fd=%d) report %s", id, fd, address))
  return id
end

local function serve(id, fd)
  while true do
    local ok, t, name, handle = pcall(read_packet, fd)
    if not ok then
      break
    end
    if t == "R" then
      if math.type(handle) ~= "integer" then
        break -- not a slave that can be trusted any more
      end
      if names[name] == nil then
        names[name] = handle
      end
      broadcast("N", name, names[name])
    elseif t == "Q" then
      if names[name] ~= nil then
        write_packet(fd, "N", name, names[name])
      end
    else
      skynet.error("Invalid slave message type " .. tostring(t))
    end
  end
  slaves[id].alive = false
  skynet.error(string.format("slave %d is down", id))
  broadcast("D", id)
  socket.close(fd)
end

local function accept(fd, address)
  skynet.error(string.format("connect from %s %d", address, fd))
  socket.start(fd)
  local ok, id = pcall(handshake, fd)
  if not ok then
    skynet.error(string.format("disconnect fd = %d, error = %s", fd, tostring(id)))
    socket.close(fd)
    return
  end
  serve(id, fd)
end

skynet.start(function()
  local standalone = assert(skynet.getenv "standalone", "cmaster needs config standalone")
  local listener = socket.listen(standalone)
  skynet.error("master listen socket " .. standalone)
  socket.start(listener, function(fd, address)
    skynet.fork(accept, fd, address)
  end)
end)
