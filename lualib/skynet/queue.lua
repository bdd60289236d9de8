-- skynet.queue (docs/LUA_SERVICES.md): `require "skynet.queue"()` makes a critical section.
-- One coroutine at a time runs inside it; the others enter in arrival order. Re-entrant.
local skynet = require "skynet"

local function new_section()
  local owner          -- coroutine inside the section
  local depth = 0      -- nested entries of the owner
  local waiting = {}   -- coroutines waiting to enter, oldest first

  local function leave(ok, ...)
    depth = depth - 1
    if depth == 0 then
      -- Ownership passes straight to the next waiter, so a coroutine arriving before that
      -- waiter resumes cannot overtake it.
      owner = table.remove(waiting, 1)
      if owner then
        skynet.wakeup(owner)
      end
    end
    if ok then
      return ...
    end
    error((...), 0)
  end

  return function(f, ...)
    local co = coroutine.running()
    if owner == nil then
      owner = co
    elseif owner ~= co then
      waiting[#waiting + 1] = co
      skynet.wait(co)
    end
    depth = depth + 1
    return leave(xpcall(f, debug.traceback, ...))
  end
end

skynet.queue = new_section

return new_section
