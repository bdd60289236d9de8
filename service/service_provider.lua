-- Node-unique keeper of the services of skynet.service (lualib/skynet/service.lua): boots one
-- service_cell per name from the code the first caller sends, and remembers the outcome.
local skynet = require "skynet"
require "skynet.manager"

-- name -> { handle = h } once booted | { error = text } if the boot failed |
--         { booting = bool, waiting = { co, ... } } until then
local cells = {}

local command = {}

local function outcome(cell)
  if cell.handle then
    return cell.handle
  end
  return nil, cell.error
end

local function wait_for(cell)
  local co = coroutine.running()
  cell.waiting[#cell.waiting + 1] = co
  skynet.wait(co)
  return outcome(cell)
end

local function boot(name, code, ...)
  local handle = skynet.newservice("service_cell", name)
  if not handle then
    error("service_cell " .. name .. " exited before booting", 0)
  end
  local ok, err = skynet.call(handle, "lua", code, ...)
  if not ok then
    error(err, 0)
  end
  return handle
end

-- The outcome of a finished boot, or nothing: callers dump their code only when needed.
function command.TEST(name)
  local cell = cells[name]
  if cell and (cell.handle or cell.error) then
    return outcome(cell)
  end
end

-- The cell of `name`, created empty on first mention.
local function cell_of(name)
  local cell = cells[name]
  if not cell then
    cell = { waiting = {} }
    cells[name] = cell
  end
  return cell
end

function command.LAUNCH(name, code, ...)
  local cell = cell_of(name)
  if cell.handle or cell.error then
    return outcome(cell)
  end
  if cell.booting then
    return wait_for(cell)
  end
  cell.booting = true
  local ok, result = pcall(boot, name, code, ...)
  if ok then
    cell.handle = result
  else
    cell.error = tostring(result)
  end
  cell.booting = false
  for _, co in ipairs(cell.waiting) do
    skynet.wakeup(co)
  end
  cell.waiting = {}
  return outcome(cell)
end

function command.QUERY(name)
  local cell = cell_of(name)
  if cell.handle or cell.error then
    return outcome(cell)
  end
  return wait_for(cell)
end

function command.CLOSE(name)
  local cell = cells[name]
  if not cell or not cell.handle then
    return false
  end
  cells[name] = nil
  skynet.kill(cell.handle)
  return true
end

skynet.dispatch("lua", function(_, _, cmd, ...)
  local f = assert(command[cmd], cmd)
  skynet.retpack(f(...))
end)

skynet.start(function() end)
