-- startexit: calls skynet.exit() inside its start function (newservice returns nil).
local skynet = require "skynet"

skynet.start(function()
  skynet.exit()
end)
