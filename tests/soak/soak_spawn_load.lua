-- Services spawned and killed: each loop launches a soak_victim, makes calls to it (each with a
-- 1 s deadline), and kills it after a moment while some calls are still being served and some
-- still queued; then a call to the dead service. Every call ends answered or failed (a call
-- suspended in the victim when it is killed would wait for ever without its deadline).
local skynet = require "skynet"
require "skynet.manager" -- skynet.kill
local soaklib = require "soaklib"

local DEADLINE = 100

soaklib.serve(function(loops)
  math.randomseed(skynet.self())
  soaklib.workers(loops, function()
    local victim = skynet.newservice "soak_victim"
    soaklib.add("spawned")
    local calls = { n = 0 }
    for _ = 1, math.random(1, 8) do
      soaklib.group_fork(calls, soaklib.call, DEADLINE, victim, "work", math.random(0, 20))
    end
    skynet.sleep(math.random(0, 15))
    skynet.kill(victim)
    soaklib.add("killed")
    soaklib.call(DEADLINE, victim, "work", 0)
    soaklib.group_wait(calls)
  end)
end)
