-- memlimit [bytes]: calls skynet.memlimit(bytes, default 64 MiB) in its main chunk.
--   "check"      -> type of skynet.memlimit before the call, whether it is nil afterwards
--   "alloc", n   -> n, after building a string of n bytes
--   "sleep_alloc", n -> the same after a sleep (the allocation runs in a resumed coroutine)
--   anything else (a send) is only received
local skynet = require "skynet"

local before = type(skynet.memlimit)
skynet.memlimit(tonumber((...)) or 64 * 1024 * 1024)
local removed = skynet.memlimit == nil

local CMD = {}
function CMD.check() skynet.retpack(before, removed) end
function CMD.alloc(n) skynet.retpack(#string.rep("x", n)) end
function CMD.sleep_alloc(n)
  skynet.sleep(1)
  CMD.alloc(n)
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, ...)
    local f = CMD[cmd]
    if f then f(...) end
  end)
end)
