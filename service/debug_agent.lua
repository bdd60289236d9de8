-- The debug console's end of a remote debugging session (its `debug address` command).
--   start(address, fd) -> true | false, error   attaches the debugger of `address` to the
--       console connection `fd`; answered when the session ends
--   cmd(line)                                   forwards one line the operator typed (send)
-- The agent exits when the session ends.
local skynet = require "skynet"
local debugchannel = require "skynet.debugchannel"

local channel
local CMD = {}

function CMD.start(address, fd)
  assert(channel == nil, "start more than once")
  skynet.error(string.format("Attach to :%08x", address))
  local id
  channel, id = debugchannel.create()
  local ok, err = pcall(skynet.call, address, "debug", "REMOTEDEBUG", fd, id)
  if ok then
    skynet.retpack(true)
  else
    skynet.retpack(false, "Debug session failed: " .. tostring(err))
  end
  skynet.exit()
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
