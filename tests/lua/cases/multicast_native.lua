-- Multicast between native and Lua services (src/actor/multicast.hpp, through the demo
-- service examples/multicast): a C++ subscriber gets Lua publishes, Lua subscribers get C++
-- publishes, on channels either side created.
local skynet = require "skynet"
local mc = require "skynet.multicast"
local T = require "testlib"

local native

-- What the native subscriber received so far (one string per delivery).
local function received()
  return { skynet.call(native, "lua", "received") }
end

T.test("a native service subscribes and receives what Lua publishes", function()
  local c = mc.new()
  T.eq(skynet.call(native, "lua", "subscribe", c.channel), true)
  c:publish("one")
  c:publish("two")
  local want = {
    string.format("%d %08x one", c.channel, skynet.self()),
    string.format("%d %08x two", c.channel, skynet.self()),
  }
  T.eventually(function() return #received() == 2 end, 500)
  T.eq(received(), want)
  T.eq(skynet.call(native, "lua", "unsubscribe", c.channel), true)
  c:publish("three")
  c:publish("three again")
  skynet.sleep(10)
  T.eq(#received(), 2, "nothing after unsubscribe")
end)

T.test("Lua subscribers receive what a native service publishes on its own channel", function()
  local id = skynet.call(native, "lua", "create")
  T.eq(math.type(id), "integer")
  local got = {}
  local c = mc.new { channel = id, dispatch = function(_, source, ...)
    got[#got + 1] = { source, ... }
  end }
  c:subscribe()
  for i = 1, 3 do T.eq(skynet.call(native, "lua", "publish", id, "n" .. i), true) end
  T.eventually(function() return #got == 3 end, 500)
  T.eq(got, { { native, "n1", "from C++" }, { native, "n2", "from C++" }, { native, "n3", "from C++" } })
  c:unsubscribe()
end)

skynet.start(function()
  native = skynet.launch "multicast_native"
  T.start()
end)
