-- early: sets its lua dispatch in the main chunk, so it answers messages that arrive before
-- its start function ran (skynet.launch returns before the Lua code runs). Replies the
-- request's arguments.
local skynet = require "skynet"

skynet.dispatch("lua", function(_, _, ...)
  skynet.retpack(...)
end)

skynet.start(function() end)
