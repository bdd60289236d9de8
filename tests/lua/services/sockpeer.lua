-- A second service for the socket cases: takes over sockets handed to it (abandon / start)
-- and reports what it reads.
local skynet = require "skynet"
local socket = require "skynet.socket"

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, id, n)
    if cmd == "take" then
      -- start the socket here, then read exactly n bytes
      local ok, err = socket.start(id)
      if not ok then
        skynet.ret(skynet.pack(false, err))
        return
      end
      skynet.ret(skynet.pack(socket.read(id, n)))
    elseif cmd == "close" then
      socket.close(id)
      skynet.ret()
    end
  end)
end)
