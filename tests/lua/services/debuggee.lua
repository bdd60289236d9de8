-- debuggee: a service for the remote debugger's test (case console). Its line numbers are
-- part of that test: the handler's three statements are lines 14, 15 and 16, and double's
-- body is line 9.
local skynet = require "skynet"

total = 0 -- a global the debugger reads

local function double(n)
  return n * 2
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, n)
    local doubled = double(n)
    total = total + doubled
    skynet.retpack(cmd, total)
  end)
end)
