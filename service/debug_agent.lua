-- The debug console's end of a remote debugging session (its `debug address` command).
--   start(address, fd) -> true | false, error   attaches the debugger of `address` to the
--       console connection `fd`; answered when the session ends
--   cmd(line)                                   forwards one line the operator typed (send)
-- The agent exits when the session ends.
local skynet = require "skynet"
local debugchannel = require "skynet.debugchannel"

-- A killed service never answers the requests it holds (a kill is not an exit), so the
-- agent also pings the debugged service, and ends the session when the ping fails.
local PING_TICKS = 100

local channel
local CMD = {}

function CMD.start(address, fd)
  assert(channel == nil, "start more than once")
  skynet.error(string.format("Attach to :%08x", address))
  local id
  channel, id = debugchannel.create()
  local respond = skynet.response()
  local ended = false
  local function finish(...)
    if not ended then
      ended = true
      respond(true, ...)
      skynet.exit()
    end
  end
  skynet.fork(function()
    while not ended do
      skynet.sleep(PING_TICKS)
      if not ended and not pcall(skynet.call, address, "debug", "PING") then
        finish(false, string.format("Debug session failed: :%08x is gone", address))
      end
    end
  end)
  local ok, err = pcall(skynet.call, address, "debug", "REMOTEDEBUG", fd, id)
  if ok then
    finish(true)
  else
    finish(false, "Debug session failed: " .. tostring(err))
  end
end

function CMD.cmd(line)
  if channel then
    channel:write(line)
  end
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, ...)
    local f = assert(CMD[cmd], cmd)
    f(...)
  end)
end)
