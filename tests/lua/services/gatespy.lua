-- gatespy: the gate service with every socketdriver.nodelay call logged as "nodelay <fd>", so
-- a test can see which connections got TCP_NODELAY (Lua cannot call getsockopt).
local skynet = require "skynet"
local driver = require "skynet.socketdriver"

local nodelay = driver.nodelay
driver.nodelay = function(fd)
  skynet.error("nodelay " .. fd)
  return nodelay(fd)
end

local path = assert(package.searchpath("gate", skynet.getenv "luaservice"))
assert(loadfile(path))(...)
