-- One service of skynet.service (lualib/skynet/service.lua), launched by service_provider as
-- `service_cell <name>`. Its first lua request carries the dumped main function and its
-- arguments; the reply is (true) once booted or (false, error) after which the cell exits.
local skynet = require "skynet"

local name = ...
local booted = false

-- The cell is already started: the booted code's start function is kept, to run right after
-- its body, with the real skynet.start back in place.
local function run_body(main, ...)
  local start_func
  local real_start = skynet.start
  local restore <close> = setmetatable({}, {
    __close = function()
      skynet.start = real_start
    end,
  })
  skynet.start = function(f)
    start_func = f
  end
  main(...)
  return start_func
end

local function boot(code, ...)
  local main = assert(load(code, name, "b", _ENV))
  local start_func = run_body(main, ...)
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
