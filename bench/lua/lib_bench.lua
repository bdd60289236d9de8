-- Micro-benchmarks of the data libraries, on Starling and on skynet alike (the start service
-- of a node whose luaservice path includes bench/lua/; it ends the node itself; bench/libs.sh
-- runs it on both). One RESULT line each, as `RESULT <name> <value> <unit>`:
--   sproto_encode_pack   sp:encode + sproto.pack of a typical game message (a player with
--                        a position, 10 items and 3 tags), ns each
--   sproto_unpack_decode sproto.unpack + sp:decode of the same, ns each
--   bson_encode          bson.encode of a 1 KiB document, ns each
--   bson_decode          bson.decode of it, ns each
--   sharedata_read       reads of one field of a sharedata object, per second
--   multicast_100        publishes to 100 subscribers per second, each delivered to all of them
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
local sproto = require "sproto"
local bson = require "bson"

local function result(name, value, unit)
  print(string.format("RESULT %s %.1f %s", name, value, unit))
end

local function bench_sproto()
  local sp = sproto.parse [[
.Item { id 0 : integer  count 1 : integer  name 2 : string }
.Pos { x 0 : integer  y 1 : integer  z 2 : integer }
.Player {
  id 0 : integer
  name 1 : string
  level 2 : integer
  exp 3 : integer
  gold 4 : integer
  online 5 : boolean
  pos 6 : Pos
  items 7 : *Item
  tags 8 : *string
  hp 9 : double
}
]]
  local player = {
    id = 100042, name = "player_one", level = 37, exp = 1234567, gold = 99999999, online = true,
    pos = { x = 1024, y = -77, z = 3 }, hp = 87.5, tags = { "vip", "guild:dragons", "pvp" },
    items = {},
  }
  for i = 1, 10 do
    player.items[i] = { id = 2000 + i, count = i * 3, name = "item" .. i }
  end
  local N = 200000
  local packed
  local t0 = now()
  for _ = 1, N do packed = sproto.pack(sp:encode("Player", player)) end
  local t1 = now()
  for _ = 1, N do sp:decode("Player", sproto.unpack(packed)) end
  local t2 = now()
  result("sproto_encode_pack", (t1 - t0) / N * 1e9, "ns")
  result("sproto_unpack_decode", (t2 - t1) / N * 1e9, "ns")
end

local function bench_bson()
  local doc = { name = "player_one", level = 37, gold = 99999999, online = true, hp = 87.5,
    tags = { "vip", "guild:dragons", "pvp" }, items = {} }
  for i = 1, 16 do
    doc.items[i] = { id = 2000 + i, count = i * 3, name = "item number " .. i }
  end
  local encoded = bson.encode(doc)
  assert(#encoded >= 900 and #encoded <= 1200, #encoded)
  local N = 100000
  local t0 = now()
  for _ = 1, N do bson.encode(doc) end
  local t1 = now()
  for _ = 1, N do bson.decode(encoded) end
  local t2 = now()
  result("bson_encode", (t1 - t0) / N * 1e9, "ns")
  result("bson_decode", (t2 - t1) / N * 1e9, "ns")
end

skynet.start(function()
  bench_sproto()
  bench_bson()
  sharedata.new("bench", { level = { hp = 100, name = "x" } })
  local obj = sharedata.query "bench"
  local level = obj.level
  local N = 2000000
  local sum = 0
  local t0 = now()
  for _ = 1, N do sum = sum + level.hp end
  local t1 = now()
  assert(sum == N * 100)
  result("sharedata_read", N / (t1 - t0), "reads/s")

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
  result("multicast_100", M / (t1 - t0), "publishes/s")
  os.exit(0)
end)
