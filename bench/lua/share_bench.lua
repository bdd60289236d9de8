-- Shared-data micro-benchmarks, on Starling and on skynet alike (the start service of a node
-- whose luaservice path includes bench/lua/; it ends the node itself). One RESULT line each:
--   sharedata_read   reads of one field of a sharedata object, per second
--   multicast_100    publishes to 100 subscribers per second, each delivered to all of them
local skynet = require "skynet"
local mode = ...

local function now() return skynet.hpc() / 1e9 end

if mode == "sub" then
  local mc = require "skynet.multicast"
  local count, want, waiter = 0, 0, nil
  skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, channel, n)
      if cmd == "sub" then
        mc.new { channel = channel, dispatch = function()
          count = count + 1
          if count == want and waiter then skynet.wakeup(waiter) end
        end }:subscribe()
        skynet.ret(skynet.pack())
      else -- "wait": until n messages arrived in all
        want = n
        if count < want then
          waiter = coroutine.running()
          skynet.wait()
        end
        skynet.ret(skynet.pack(count))
      end
    end)
  end)
  return
end

local sharedata = require "skynet.sharedata"
local mc = require "skynet.multicast"

skynet.start(function()
  sharedata.new("bench", { level = { hp = 100, name = "x" } })
  local obj = sharedata.query "bench"
  local level = obj.level
  local N = 2000000
  local sum = 0
  local t0 = now()
  for _ = 1, N do sum = sum + level.hp end
  local t1 = now()
  assert(sum == N * 100)
  print(string.format("RESULT sharedata_read: %.0f reads/s", N / (t1 - t0)))

  local subs = {}
  local c = mc.new()
  for i = 1, 100 do
    subs[i] = skynet.newservice(SERVICE_NAME, "sub")
    skynet.call(subs[i], "lua", "sub", c.channel)
  end
  local M = 2000
  t0 = now()
  for i = 1, M do c:publish(i, "payload") end
  for i = 1, 100 do skynet.call(subs[i], "lua", "wait", c.channel, M) end
  t1 = now()
  print(string.format("RESULT multicast_100: %.0f publishes/s (%.0f deliveries/s)", M / (t1 - t0),
    M * 100 / (t1 - t0)))
  os.exit(0)
end)
