-- Harbor mode (docs/HARBOR.md) between Starling processes: a standalone node A (harbor 1,
-- the master) and nodes B (2) and C (3) that join it. This node is the driver (harbor 0): it
-- starts the peers on free ports and runs Lua on them through the cluster (harbor_peer's
-- "@ctl"), then reads their logs. Covers the boot and its log lines, calls and sends by handle
-- and by global name, queueing until a link is up, a node that dies (pending and later calls
-- fail at once), an id that joins again, a message over the link limit and a second
-- registration of a name.
local skynet = require "skynet"
local harbor_peers = require "harbor_peers"
local T = require "testlib"

local group  -- harbor_peers.group(), made when the case starts
local eval = harbor_peers.eval
local spawn = harbor_peers.spawn

local function has_line(p, pattern)
  return p:log():find(pattern) ~= nil
end

local function count(text, pattern)
  local n = 0
  for _ in text:gmatch(pattern) do
    n = n + 1
  end
  return n
end

T.test("a standalone node and a second one boot and link", function()
  group = harbor_peers.group()
  local a = group.start("a", 1, true)
  local b = group.start("b", 2)
  T.match(a:log(), "%[:01000004%] master listen socket 127%.0%.0%.1:" .. group.port)
  T.match(a:log(), "%[:01000006%] LAUNCH harbor 1 16777221")
  T.match(a:log(), "%[:01000005%] Waiting for 0 harbors")
  T.match(a:log(), "%[:01000004%] Harbor 2 %(fd=%d+%) report 127%.0%.0%.1:%d+")
  T.match(a:log(), "%[:01000005%] Connect to harbor 2 %(fd=%d+%), 127%.0%.0%.1:%d+")
  T.match(b:log(), "%[:02000005%] LAUNCH harbor 2 33554436")
  T.match(b:log(), "%[:02000004%] Waiting for 1 harbors")
  T.match(b:log(), "%[:02000004%] Harbor 1 connected %(fd = %d+%)")
  T.match(b:log(), "%[:02000004%] Shakehand ready")
  T.eq(table.pack(eval("b", "return skynet.harbor(skynet.self())")), table.pack(2, false))
  T.eq(table.pack(eval("b", "return skynet.harbor(0x01000009)")), table.pack(1, true))
end, 3000)

T.test("calls and sends by handle and by global name keep source and session", function()
  T.eq(eval("b", 'return harbor.queryname "PEER1"'), 0x01000009)
  T.eq(table.pack(eval("b", 'return skynet.call(0x01000009, "lua", "echo", "hi", 1, { x = 2 })')),
    table.pack("hi", 1, { x = 2 }))
  T.eq(eval("b", 'return skynet.call("PEER1", "lua", "echo", "by name")'), "by name")
  T.eq(eval("a", 'return skynet.call("PEER2", "lua", "echo", "back")'), "back")
  eval("b", 'skynet.send("PEER1", "lua", "note", "sent by name") return true')
  T.eventually(function() return has_line(group.nodes.a, "%[:01000009%] NOTE sent by name") end)
  -- The callee sees the caller's own handle as the source.
  T.eq(eval("b", 'return skynet.call(0x01000009, "lua", "source")'), 0x02000007)
end)

T.test("a remote error and a dead remote handle fail the call", function()
  T.eq(table.pack(eval("b", 'return pcall(skynet.call, 0x01000009, "lua", "fail")')),
    table.pack(false, "call failed"))
  T.eq(table.pack(eval("b", 'return pcall(skynet.call, 0x010000ff, "lua", "echo")')),
    table.pack(false, "call failed"))
  T.eventually(function()
    return has_line(group.nodes.a,
      "%[:01000006%] Unknown destination :10000ff from :2000007 type%(10%)")
  end)
end)

T.test("a call to a harbor that has not joined waits until its link is up", function()
  -- C's launcher (:03000003) exists when the link comes up, during C's boot.
  local early = spawn("b", 'return type(skynet.call(0x03000003, "lua", "LIST"))')
  local by_name = spawn("b", 'return skynet.call("PEER3", "lua", "echo", "by name")')
  skynet.sleep(20)
  T.ok(not early() and not by_name(), "answered before harbor 3 joined")
  group.start("c", 3)
  local r
  T.eventually(function()
    r = early()
    return r
  end, 1000)
  T.eq(table.pack(table.unpack(r, 1, 2)), table.pack(true, "table"))
  T.eventually(function()
    r = by_name()
    return r
  end, 1000)
  T.eq(table.pack(table.unpack(r, 1, 2)), table.pack(true, "by name"))
  T.match(group.nodes.c:log(), "%[:03000004%] Waiting for 2 harbors")
end, 3000)

T.test("a node that dies: pending and later calls fail at once, harbor.link returns", function()
  local pending = spawn("b", 'return skynet.call(0x03000007, "lua", "hold")')
  local link = spawn("b", "harbor.link(3) return true")
  skynet.sleep(20)
  T.ok(not pending() and not link(), "finished before C died")
  group.nodes.c:kill()
  local r
  T.eventually(function()
    r = pending()
    return r
  end, 1000)
  T.eq(r[1], false)
  T.match(r[2], "call failed$")
  T.eventually(link)
  T.eq(table.pack(eval("b", 'return pcall(skynet.call, 0x03000007, "lua", "echo", 1)')),
    table.pack(false, "call failed"))
  T.eq(count(group.nodes.b:log(), "Harbor 3 link closed"), 1)
  -- The master sees C's connection drop on its own, not necessarily before B does.
  T.eventually(function() return group.nodes.a:log():find("%[:01000004%] slave 3 is down") end,
    1000, "the master logs slave 3 down")
end, 3000)

T.test("the same harbor id joins again after its node died", function()
  group.start("c", 3)
  T.eventually(function()
    return eval("b", 'return (pcall(skynet.call, 0x03000007, "lua", "echo", 1))')
  end, 1000)
  T.eq(eval("a", 'return skynet.call(0x03000007, "lua", "echo", "again")'), "again")
  T.eq(eval("c", 'return skynet.call(0x02000007, "lua", "echo", "to b")'), "to b")
end, 3000)

T.test("a message over the link limit fails the call with a clear line; the node goes on", function()
  T.eq(table.pack(eval("b", [[
    return pcall(skynet.call, 0x01000009, "lua", "echo", string.rep("x", 17 * 1024 * 1024))
  ]])), table.pack(false, "call failed"))
  T.eventually(function()
    return has_line(group.nodes.b, "Message to harbor 1 from 2000007 to 1000009 is too long")
  end)
  T.eq(eval("b", 'return #skynet.call(0x01000009, "lua", "echo", string.rep("y", 7 * 1024 * 1024))'),
    7 * 1024 * 1024)
end, 3000)

T.test("a name registered on two nodes keeps its first owner everywhere", function()
  eval("a", 'skynet.name("DUP", skynet.self()) return true')
  -- B registers it before it can have learnt it (the master's broadcast may be on its way).
  eval("c", 'harbor.globalname("DUP", 0x03000007) return true')
  T.eventually(function()
    return eval("b", 'return harbor.queryname "DUP"') == 0x01000009
      and eval("c", 'return skynet.call("DUP", "lua", "eval", "return skynet.harbor(skynet.self())")') == 1
  end)
  T.eq(eval("a", 'return harbor.queryname "DUP"'), 0x01000009)
end, 3000)

skynet.start(function()
  T.start()
end)
