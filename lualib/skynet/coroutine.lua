-- skynet.coroutine (docs/LUA_SERVICES.md): coroutines that may call blocking skynet
-- functions. The scheduler's yields ("SUSPEND", "QUIT", ...) raised inside such a coroutine
-- are passed up to the skynet coroutine that resumed it; only yields tagged "USER" (from this
-- module's yield) stop at the user's resume.
local coroutine = coroutine
-- Captured once: snlua's profiling resume, when the host installed it.
local coresume = coroutine.resume
local cocreate = coroutine.create
local coyield = coroutine.yield
local costatus = coroutine.status
local corunning = coroutine.running
local coclose = coroutine.close
local coisyieldable = coroutine.isyieldable

local skynetco = {}

local mine = setmetatable({}, { __mode = "k" })      -- coroutines created here
local blocked = setmetatable({}, { __mode = "k" })   -- those suspended inside skynet
local resumer = setmetatable({}, { __mode = "k" })   -- who resumed each one last

function skynetco.create(f)
  local co = cocreate(f)
  mine[co] = true
  return co
end

function skynetco.running()
  return corunning()
end

function skynetco.isyieldable()
  local co, main = corunning()
  return not main and mine[co] == true and coisyieldable()
end

function skynetco.status(co)
  if blocked[co] then
    return "blocked"
  end
  return costatus(co)
end

local function pass_down(co, ...)
  blocked[co] = nil
  return coresume(co, ...)
end

-- Handles what the coroutine did after a resume: finished, failed, yielded to its user
-- resumer, or blocked in skynet. A block is passed upward with all its values, and the
-- values the scheduler resumes with are passed back down unchanged.
local function settle(co, ok, ...)
  if not ok then
    return false, ...
  end
  if costatus(co) == "dead" then
    return true, ...
  end
  if (...) == "USER" then
    return true, select(2, ...)
  end
  blocked[co] = true
  return settle(co, pass_down(co, coyield(...)))
end

function skynetco.resume(co, ...)
  if not mine[co] then
    return false, "cannot resume none skynet coroutine"
  end
  if blocked[co] then
    return false, "cannot resume a skynet coroutine suspend by skynet framework"
  end
  resumer[co] = corunning()
  return settle(co, coresume(co, ...))
end

function skynetco.yield(...)
  return coyield("USER", ...)
end

local function unwrap(ok, ...)
  if ok then
    return ...
  end
  error((...), 0)
end

function skynetco.wrap(f)
  local co = skynetco.create(f)
  return function(...)
    return unwrap(skynetco.resume(co, ...))
  end
end

function skynetco.close(co)
  if blocked[co] then
    return false, "cannot close a skynet coroutine suspend by skynet framework"
  end
  return coclose(co)
end

-- The skynet coroutine a user coroutine runs on (followed through nested user coroutines)
-- and false, or the coroutine itself and true when it is not one of ours.
function skynetco.thread(co)
  co = co or corunning()
  if not mine[co] then
    return co, true
  end
  local root = co
  while mine[root] do
    root = resumer[root]
    if root == nil then
      return nil, false
    end
  end
  return root, false
end

return skynetco
