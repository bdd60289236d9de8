-- One service of skynet.service (lua-api.md section 19), launched by service_provider as
-- `service_cell <name>`. Its first lua request carries the dumped main function and its
-- arguments; the reply is (true) once booted or (false, error) after which the cell exits.
local skynet = require "skynet"

local name = ...
local booted = false

local function boot(code, ...)
  local main = assert(load(code, name, "b"))
  -- The cell is already started: the booted code's start function runs right after its body.
  local start_func
  local real_start = skynet.start
  skynet.start = function(f)
    start_func = f
  end
  local ok, err = pcall(main, ...)
  skynet.start = real_start
  if not ok then
    error(err, 0)
  end
  if start_func then
    start_func()
  end
end

skynet.start(function()
  -- Replaced by the booted code's own lua dispatch, if it sets one.
  skynet.dispatch("lua", function(_, _, code, ...)
    assert(not booted, "service_cell " .. tostring(name) .. " is already booted")
    booted = true
    local ok, err = xpcall(boot, debug.traceback, code, ...)
    skynet.retpack(ok, err)
    if not ok then
      skynet.exit()
    end
  end)
end)
