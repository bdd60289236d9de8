-- skynet.socketchannel overload notifications (docs/SOCKETCHANNEL.md, Overload): overload(true) when the
-- write backlog passes 1 MiB, a WARNING line for each further warning, overload(false) once
-- it drained, and a forced overload(false) after a reconnect. The server's sink connections
-- read nothing until told to drain (tests/lua/services/sc_server.lua).
local skynet = require "skynet"
local sc = require "skynet.socketchannel"
local T = require "testlib"
local H = require "sctest"

local HOST = "127.0.0.1"
local MIB = string.rep("x", 1024 * 1024)

-- Fire-and-forget writes until the channel reports overload (kernel buffers absorb a few MiB).
local function fill(ch, events, want)
  for _ = 1, 64 do
    ch:request(MIB)
    skynet.yield()
    if #events >= want then return end
  end
  T.eventually(function() return #events >= want end, nil, "overload(true)")
end

T.test("overload(true) past 1 MiB of backlog, WARNING lines after, overload(false) when drained", function()
  local port = H.listen { sink = true }
  local events = {}
  local ch = sc.channel { host = HOST, port = port, overload = function(v) events[#events + 1] = v end }
  ch:connect(true)
  skynet.sleep(1)
  T.eq(events, {}, "a fresh connection that is not overloaded reports nothing")
  local from = T.mark()
  fill(ch, events, 1)
  T.eq(events, { true })
  for _ = 1, 8 do ch:request(MIB) end -- past the next threshold (the previous one doubled)
  local line = T.log("^%[" .. T.hex(skynet.self())
    .. "%] WARNING: %d+ K bytes need to send out %(fd = %d+%) 127%.0%.0%.1 " .. port .. "$", from)
  local kib = tonumber(line:match("WARNING: (%d+) K"))
  T.ok(kib >= 2048, "the second warning comes at 2 MiB or more, got " .. kib)
  H.drain(port)
  T.eventually(function() return #events >= 2 end, nil, "overload(false)")
  T.eq(events, { true, false })
  ch:close()
end)

T.test("a channel left overloaded by a dead connection hears overload(false) after reconnecting", function()
  local sink = H.listen { sink = true }
  local port = H.listen()
  local events = {}
  local ch = sc.channel { host = HOST, port = sink, overload = function(v) events[#events + 1] = v end }
  ch:connect(true)
  fill(ch, events, 1)
  T.eq(events, { true })
  ch:changehost(HOST, port) -- the overloaded connection goes without draining
  skynet.sleep(5)
  T.eq(events, { true }, "nothing from the closed connection")
  T.eq(ch:request("echo hi\n", H.line), "hi")
  T.eventually(function() return #events >= 2 end, nil, "overload(false)")
  T.eq(events, { true, false })
  H.drain(sink)
  ch:close()
end)

T.start()
