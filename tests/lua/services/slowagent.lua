-- slowagent: a gate agent for tests/lua/cases/socket_limits.lua. It holds on its first
-- packet until the file named by its argument exists, so that the packets behind it queue;
-- then it checks that the packets (">I4" sequence numbers) come in order. "stat" returns
-- (packets, bytes, the longest queue it saw, whether the order held).
local skynet = require "skynet"

local hold_path = ...
local packets, bytes, longest, ordered = 0, 0, 0, true

skynet.register_protocol {
  name = "client",
  id = skynet.PTYPE_CLIENT,
  unpack = skynet.tostring,
  dispatch = function(_, _, text)
    skynet.ignoreret()
    if packets == 0 then
      while true do
        local f = io.open(hold_path)
        if f then
          f:close()
          break
        end
      end
    end
    if string.unpack(">I4", text) ~= packets then ordered = false end
    packets = packets + 1
    bytes = bytes + #text
    longest = math.max(longest, skynet.stat "mqlen")
  end,
}

skynet.start(function()
  skynet.dispatch("lua", function()
    skynet.retpack(packets, bytes, longest, ordered)
  end)
end)
