-- The master link's packets of harbor mode (docs/HARBOR.md), shared by cmaster and cslave: one
-- length byte, then skynet.pack of a one-letter type and its values.
local skynet = require "skynet"
local socket = require "skynet.socket"

local packet = {}

-- The values of the next packet on fd; raises "closed" when the link ends. An empty packet is
-- an empty value list, unless `refuse_empty` (the master takes none from a slave).
function packet.read(fd, refuse_empty)
  local size = socket.read(fd, 1)
  if not size then
    error "closed"
  end
  size = size:byte()
  if size == 0 and refuse_empty then
    error "empty packet"
  end
  local body = size > 0 and socket.read(fd, size) or ""
  if not body then
    error "closed"
  end
  return skynet.unpack(body)
end

function packet.write(fd, ...)
  local body = skynet.packstring(...)
  assert(#body <= 255, "too long")
  socket.write(fd, string.char(#body) .. body)
end

return packet
