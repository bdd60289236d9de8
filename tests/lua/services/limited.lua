-- limited: a service with a mailbox limit (skynet.mailbox), for tests/lua/cases/mailbox.lua.
-- "hold" keeps it inside one message until the file named by its argument exists (it makes
-- <file>.held once it holds), so that whatever is sent meanwhile stays queued; sends are
-- counted.
local skynet = require "skynet"
local mailbox = require "skynet.mailbox"

local limit = tonumber((...))
local counted = 0

skynet.start(function()
  mailbox.limit(limit)
  skynet.dispatch("lua", function(session, _, cmd, arg)
    if cmd == "hold" then
      assert(io.open(arg .. ".held", "w")):close()
      while true do
        local f = io.open(arg)
        if f then
          f:close()
          break
        end
      end
    elseif cmd == "count" then
      skynet.retpack(counted, mailbox.limit())
    elseif session == 0 then
      counted = counted + 1
    else
      skynet.retpack(cmd)
    end
  end)
end)
