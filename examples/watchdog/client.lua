-- client: connects to address:port, sends packets framed with a 2-byte big-endian length and
-- returns what comes back. skynet.newservice("client", address, port); then
-- skynet.call(client, "lua", "run", { "packet", ... }) -> { "echo", ... }
local skynet = require "skynet"
local socket = require "skynet.socket"

local address, port = ...

local function read_packet(id)
  local header = socket.read(id, 2)
  if not header then return nil end
  local size = string.unpack(">I2", header)
  if size == 0 then return "" end -- socket.read(id, 0) would wait for more data
  return socket.read(id, size) or nil
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, packets)
    assert(cmd == "run", "client: unknown command")
    local id = assert(socket.open(address, tonumber(port)))
    for _, p in ipairs(packets) do
      socket.write(id, string.pack(">s2", p))
    end
    local echoed = {}
    for i = 1, #packets do
      echoed[i] = read_packet(id)
    end
    socket.close(id)
    skynet.ret(skynet.pack(echoed))
  end)
end)
