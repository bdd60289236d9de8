-- skynet.multicast on one node (docs/LIBRARIES.md "multicast"): the spec's checklist items
-- 20-23. Channels across harbor nodes (item 24) come with harbor mode.
local skynet = require "skynet"
local mc = require "skynet.multicast"
local T = require "testlib"

local function got(s)
  return skynet.call(s, "lua", "got")
end

local function payloads(list)
  local r = {}
  for i, m in ipairs(list) do r[i] = m.args[1] end
  return r
end

T.test("channel ids 0, 256, 512 on harbor 0; tostring", function()
  local a, b, c = mc.new(), mc.new(), mc.new()
  T.eq({ a.channel, b.channel, c.channel }, { 0, 256, 512 })
  T.eq(tostring(a), "[Multicast:0]")
  T.eq(tostring(b), "[Multicast:100]")
  T.eq(tostring(mc.new { channel = 12345 }), "[Multicast:3039]")
end)

T.test("2 subscribers x 3 publishes: in order, the publisher as source, self included", function()
  local c = mc.new()
  local s1, s2 = skynet.newservice("mc_sub"), skynet.newservice("mc_sub")
  skynet.call(s1, "lua", "sub", c.channel)
  skynet.call(s2, "lua", "sub", c.channel)
  local mine = {}
  local me = mc.new { channel = c.channel, dispatch = function(_, source, v)
    mine[#mine + 1] = { source, v }
  end }
  me:subscribe()
  me:subscribe() -- idempotent
  for i = 1, 3 do c:publish(i, "x") end
  for _, s in ipairs { s1, s2 } do
    T.eventually(function() return #got(s) == 3 end, 500)
    local list = got(s)
    T.eq(payloads(list), { 1, 2, 3 })
    for _, m in ipairs(list) do
      T.eq(m.source, skynet.self())
      T.eq(m.channel, c.channel)
      T.eq(m.args, table.pack(m.args[1], "x"))
    end
  end
  T.eventually(function() return #mine == 3 end, 500)
  T.eq(mine, { { skynet.self(), 1 }, { skynet.self(), 2 }, { skynet.self(), 3 } })
  me:unsubscribe()
  skynet.send(s1, "lua", "exit")
  skynet.send(s2, "lua", "exit")
  T.gone(s1)
  T.gone(s2)
end)

T.test("unsubscribe stops delivery to that service only; delete; silent drops", function()
  local c = mc.new()
  local s1, s2 = skynet.newservice("mc_sub"), skynet.newservice("mc_sub")
  skynet.call(s1, "lua", "sub", c.channel)
  skynet.call(s2, "lua", "sub", c.channel)
  c:publish "one"
  T.eventually(function() return #got(s1) == 1 and #got(s2) == 1 end, 500)
  skynet.call(s1, "lua", "unsub", c.channel)
  c:publish "two"
  T.eventually(function() return #got(s2) == 2 end, 500)
  skynet.call(s2, "lua", "publish", c.channel, "three") -- another publisher
  T.eventually(function() return #got(s2) == 3 end, 500)
  T.eq(payloads(got(s1)), { "one" })
  T.eq(got(s2)[3].source, s2)
  mc.new { channel = 99999 }:publish "nobody" -- unknown id
  mc.new():publish "empty"                  -- no subscribers
  c:delete()
  T.eq(c.channel, nil)
  T.raises("assertion failed!$", c.publish, c, "after delete")
  mc.new { channel = 99999 }:subscribe() -- an unknown local id: nothing happens
  skynet.send(s1, "lua", "exit")
  skynet.send(s2, "lua", "exit")
  T.gone(s1)
  T.gone(s2)
end)

T.test("an error in dispatch is logged by that subscriber only", function()
  local c = mc.new()
  local bad, good = skynet.newservice("mc_sub"), skynet.newservice("mc_sub")
  skynet.call(bad, "lua", "sub", c.channel, true)
  skynet.call(good, "lua", "sub", c.channel)
  local from = T.mark()
  c:publish "a"
  c:publish "b"
  T.eventually(function() return #got(good) == 2 end, 500)
  T.log(string.format("^%%[%s%%] lua call %%[%x to .*dispatch failed on purpose",
    T.esc(T.hex(bad)), skynet.self()), from)
  T.eq(#got(bad), 2, "the failing subscriber got both messages")
  skynet.send(bad, "lua", "exit")
  skynet.send(good, "lua", "exit")
  T.gone(bad)
  T.gone(good)
end)

T.test("packages are freed: many publishes to many subscribers", function()
  local c = mc.new()
  local subs = {}
  for i = 1, 10 do
    subs[i] = skynet.newservice("mc_sub")
    skynet.call(subs[i], "lua", "sub", c.channel)
  end
  for i = 1, 100 do c:publish(i, string.rep("p", 100)) end
  for _, s in ipairs(subs) do
    T.eventually(function() return #got(s) == 100 end, 1000)
    skynet.send(s, "lua", "exit")
  end
  -- Gone before the verdict: a KILL line after it fails the case.
  for _, s in ipairs(subs) do
    T.gone(s)
  end
end)

T.start()
