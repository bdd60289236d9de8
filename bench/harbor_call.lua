-- Remote calls over a harbor link (docs/HARBOR.md), for Starling and skynet alike (public Lua
-- API only); bench/harbor_call.sh runs it. Config key `harbor_bench_role`:
--   "server" (the standalone node): registers HBENCH, an echo, and prints BENCH_READY;
--   "client" (the joining node): for each concurrency of `harbor_bench_conc` (default
--   "1,64"), that many coroutines call HBENCH by handle in a loop for
--   `harbor_bench_time` seconds (default 3) after a warm-up, then prints
--   `RESULT harbor_call c<conc> <calls per second> calls/s`; at the end it stops both nodes.
local skynet = require "skynet"
require "skynet.manager"
local harbor = require "skynet.harbor"

local function server()
  skynet.dispatch("lua", function(session, _, cmd, ...)
    if cmd == "quit" then
      skynet.abort()
    elseif session ~= 0 then
      skynet.ret(skynet.pack(...))
    end
  end)
  skynet.name("HBENCH", skynet.self())
  print "BENCH_READY"
end

local function phase(target, conc, seconds)
  local calls, running, stop = 0, conc, false
  local me = coroutine.running()
  for _ = 1, conc do
    skynet.fork(function()
      while not stop do
        skynet.call(target, "lua", "echo", 42)
        calls = calls + 1
      end
      running = running - 1
      if running == 0 then
        skynet.wakeup(me)
      end
    end)
  end
  local start = skynet.now()
  skynet.sleep(math.floor(seconds * 100))
  stop = true
  local done = calls
  local elapsed = (skynet.now() - start) / 100
  skynet.wait(me)
  return done / elapsed
end

local function client()
  local target = harbor.queryname "HBENCH"
  local seconds = tonumber(skynet.getenv "harbor_bench_time") or 3
  for text in (skynet.getenv "harbor_bench_conc" or "1,64"):gmatch "%d+" do
    local conc = tonumber(text)
    phase(target, conc, 0.5) -- warm-up
    local rate = phase(target, conc, seconds)
    print(string.format("RESULT harbor_call c%d %.0f calls/s", conc, rate))
  end
  skynet.send(target, "lua", "quit")
  skynet.sleep(10)
  skynet.abort()
end

skynet.start(function()
  if skynet.getenv "harbor_bench_role" == "server" then
    server()
  else
    skynet.fork(client)
  end
end)
