-- Required from initorder's main chunk: its skynet.init runs just before the start function.
local skynet = require "skynet"

ORDER[#ORDER + 1] = "module body"
skynet.init(function() ORDER[#ORDER + 1] = "init 2 (module)" end)

return {}
