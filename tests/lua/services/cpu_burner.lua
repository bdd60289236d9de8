-- cpu_burner: burns CPU in its messages, for tests/lua/cases/profile.lua.
--   "burn", n -> the loop's result after n iterations of plain Lua arithmetic
local skynet = require "skynet"

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, n)
    assert(cmd == "burn")
    local x = 0
    for i = 1, n do
      x = (x + i * 7) % 1000003
    end
    skynet.retpack(x)
  end)
end)
