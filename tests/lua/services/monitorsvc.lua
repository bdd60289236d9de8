-- monitorsvc: an exit monitor (skynet.monitor "monitorsvc"). Records the source of every
-- PTYPE_CLIENT message; "seen" -> { handle, ... } in arrival order.
local skynet = require "skynet"

local seen = {}

skynet.register_protocol {
  name = "client",
  id = skynet.PTYPE_CLIENT,
  unpack = function() end,
  dispatch = function(_, source)
    seen[#seen + 1] = source
  end,
}

skynet.start(function()
  skynet.dispatch("lua", function()
    skynet.retpack(seen)
  end)
end)
