-- Multicast channels across harbor nodes (docs/LIBRARIES.md "multicast"): a standalone node A
-- (harbor 1) owns a channel, node B (harbor 2) subscribes to it through its own multicastd.
-- This node (harbor 0) drives both through the cluster (harbor_peer's "@ctl") and asks
-- mc_member services there to subscribe, publish, unsubscribe and delete.
local skynet = require "skynet"
local harbor_peers = require "harbor_peers"
local T = require "testlib"

local master_port

local free_port = harbor_peers.free_port

local function start(name, id, standalone)
  local p = harbor_peers.start(name, id, master_port, standalone)
  return p
end

local eval = harbor_peers.eval

-- A member service on a node; returns a function that calls it there.
local function member(name)
  local addr = eval(name, 'return skynet.newservice "mc_member"')
  return function(cmd, ...)
    local args = table.pack(...)
    local code = string.format("return skynet.call(%d, 'lua', %q", addr, cmd)
    for i = 1, args.n do
      local v = args[i]
      code = code .. ", " .. (type(v) == "string" and string.format("%q", v) or tostring(v))
    end
    return eval(name, code .. ")")
  end, addr
end

local function got_all(m, n)
  local list
  T.eventually(function()
    list = m "got"
    return #list >= n
  end, 1000)
  return list
end

local c, m1, m2, p2, m1_addr, p2_addr

T.test("two harbor nodes boot", function()
  master_port = free_port()
  start("a", 1, true)
  start("b", 2)
  T.eq(eval("b", "return skynet.harbor(skynet.self())"), 2)
end, 3000)

T.test("a channel of node 1 gets subscribers and publishes from node 2, in order", function()
  m1, m1_addr = member "a"
  c = m1 "new"
  T.eq(c, 1) -- the first channel of harbor 1
  m1("sub", c)
  m2 = member "b"
  p2, p2_addr = member "b"
  m2("sub", c)
  p2("sub", c)
  p2("pub", c, "from remote 1")
  p2("pub", c, "from remote 2")
  got_all(m2, 2) -- through the owner: it has them before the owner's own
  m1("pub", c, "from owner 1")
  m1("pub", c, "from owner 2")
  local want = {
    string.format("1:%08x:from remote 1", p2_addr),
    string.format("1:%08x:from remote 2", p2_addr),
    string.format("1:%08x:from owner 1", m1_addr),
    string.format("1:%08x:from owner 2", m1_addr),
  }
  T.eq(got_all(m1, 4), want)
  T.eq(got_all(m2, 4), want)
  T.eq(got_all(p2, 4), want)
end)

T.test("an unsubscribed publisher on node 2 no longer gets its own messages", function()
  p2("unsub", c)
  p2("pub", c, "after unsub")
  local line = string.format("1:%08x:after unsub", p2_addr)
  T.eq(got_all(m1, 5)[5], line)
  T.eq(got_all(m2, 5)[5], line)
  -- p2 would have had it from B's multicastd no later than m2: a second channel marks the end.
  local c2 = m1 "new"
  m1("sub", c2)
  p2("sub", c2)
  m1("pub", c2, "marker")
  local list = got_all(p2, 5)
  T.eq(#list, 5)
  T.eq(list[5], string.format("%d:%08x:marker", c2, m1_addr))
end)

T.test("a delete from node 2 reaches the owner: later publishes reach nobody", function()
  p2("del", c)
  p2("fence", 1)
  m1("pub", c, "after delete")
  -- Anything A's multicastd sent for c before comes ahead of a message on a new channel.
  local c3 = m1 "new"
  m1("sub", c3)
  m2("sub", c3)
  m1("pub", c3, "end")
  local want_m1 = got_all(m1, 7)
  T.eq(#want_m1, 7) -- five on c, the marker on c2, the end on c3
  T.eq(want_m1[7], string.format("%d:%08x:end", c3, m1_addr))
  local list = got_all(m2, 6)
  T.eq(#list, 6)
  T.eq(list[6], string.format("%d:%08x:end", c3, m1_addr))
  -- A subscription from node 2 to the deleted channel now gets nothing.
  local m3 = member "b"
  m3("sub", c)
  m1("pub", c, "still nothing")
  m3("sub", c3)
  m1("pub", c3, "last")
  T.eq(got_all(m3, 1), { string.format("%d:%08x:last", c3, m1_addr) })
end)

skynet.start(function()
  T.start()
end)
