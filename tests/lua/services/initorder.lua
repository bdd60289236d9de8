-- initorder: records the order of skynet.init functions, the module body and the start
-- function. "order" -> { ... }.
local skynet = require "skynet"

ORDER = { "main chunk" }
skynet.init(function() ORDER[#ORDER + 1] = "init 1" end)
require "mods.initmod" -- appends "module body" and registers "init 2 (module)"
skynet.init(function() ORDER[#ORDER + 1] = "init 3" end)
ORDER[#ORDER + 1] = "main chunk end"

skynet.start(function()
  ORDER[#ORDER + 1] = "start"
  skynet.dispatch("lua", function(_, _, cmd)
    if cmd == "order" then skynet.retpack(ORDER) end
  end)
end)
