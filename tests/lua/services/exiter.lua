-- exiter: skynet.exit() from a request handler, with a suspended coroutine that owns a
-- to-be-closed variable, a held request, an unanswered response closure and a queued fork.
--   "prepare"  starts the suspended coroutine (its close logs "exiter: closed")
--   "hold"     never answered before the exit
--   "defer"    takes a response closure and keeps it
--   "exit_now" queues a fork (logs "exiter: fork ran"), calls skynet.exit(), then would log
--              "exiter: after exit"
local skynet = require "skynet"

local CMD = {}

function CMD.prepare()
  skynet.fork(function()
    local guard <close> = setmetatable({}, {
      __close = function() skynet.error("exiter: closed") end,
    })
    skynet.wait()
  end)
  skynet.ret()
end

function CMD.hold()
  skynet.wait()
  skynet.retpack("released")
end

local kept = {}
function CMD.defer()
  kept[#kept + 1] = skynet.response()
end

function CMD.exit_now()
  skynet.fork(function() skynet.error("exiter: fork ran") end)
  skynet.exit()
  skynet.error("exiter: after exit")
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, ...)
    CMD[cmd](...)
  end)
end)
