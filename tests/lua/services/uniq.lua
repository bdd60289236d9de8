-- uniq: a target for uniqueservice; "args" -> its launch arguments.
local skynet = require "skynet"

local args = table.pack(...)

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd)
    if cmd == "args" then skynet.retpack(table.unpack(args, 1, args.n)) end
  end)
end)
