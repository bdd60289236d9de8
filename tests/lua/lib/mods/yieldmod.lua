-- Required from a skynet coroutine: its body yields (sleep) and registers an init function,
-- which must run right after the body, before require returns.
local skynet = require "skynet"

local M = { loads = (YIELDMOD_LOADS or 0) + 1 }
YIELDMOD_LOADS = M.loads

skynet.sleep(5)
M.body_done = true
skynet.init(function()
  M.init_after_body = M.body_done
end)

return M
