-- closer: to-be-closed variables in every place skynet.exit() has to close, for
-- tests/lua/cases/lifecycle.lua. Each variable logs "closer: closed <where>" from __close.
-- The start function starts forks (one that raises, one that waits, one inside a call to
-- itself, one whose call is handled by a handler that raises), then one fork that never runs,
-- then exits from the start function itself.
local skynet = require "skynet"

local function closing(where)
  return setmetatable({}, { __close = function() skynet.error("closer: closed " .. where) end })
end

local handled = 0
skynet.dispatch("lua", function()
  handled = handled + 1
  if handled == 1 then
    local _ <close> = closing "handler waiting"
    skynet.wait()
  else
    local _ <close> = closing "handler raising"
    error "closer: handler raises"
  end
end)

skynet.start(function()
  local _ <close> = closing "start function"
  skynet.fork(function()
    local _ <close> = closing "fork raising"
    error "closer: fork raises"
  end)
  skynet.fork(function()
    local _ <close> = closing "fork waiting"
    skynet.wait()
  end)
  skynet.fork(function()
    local _ <close> = closing "fork calling"
    skynet.call(skynet.self(), "lua")
  end)
  skynet.fork(function()
    skynet.call(skynet.self(), "lua")
  end)
  skynet.sleep(10)
  skynet.fork(function()
    local _ <close> = closing "fork never run"
    skynet.wait()
  end)
  skynet.exit()
end)
