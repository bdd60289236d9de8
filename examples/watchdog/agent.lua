-- agent: serves one client. The gate forwards the client's packets here as "client" messages
-- (session = the socket id, so there is nothing to answer); replies go straight to the socket.
local skynet = require "skynet"
local socket = require "skynet.socket"

local fd

skynet.register_protocol {
  name = "client",
  id = skynet.PTYPE_CLIENT,
  unpack = skynet.tostring,
  dispatch = function(_, _, text)
    skynet.ignoreret()
    socket.write(fd, string.pack(">s2", text))
  end,
}

local CMD = {}

function CMD.start(conf)
  fd = conf.client
  skynet.call(conf.gate, "lua", "forward", fd)
end

function CMD.disconnect()
  skynet.exit()
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, ...)
    skynet.ret(skynet.pack(CMD[cmd](...)))
  end)
end)
