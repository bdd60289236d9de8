-- skynet.cluster between two Starling processes: calls both ways, a node killed with calls in
-- flight and started again, an address changed by reload (docs/CLUSTER.md, "Failures").
local skynet = require "skynet"
require "skynet.manager"
local cluster = require "skynet.cluster"
local nodes = require "nodes"
local T = require "testlib"

local home_port, peer

local function start_peer(name, port)
  return nodes.start(name, "cluster_peer", { string.format("cluster_peer_port = %q", tostring(port or 0)) })
end

T.test("a second node answers calls, sends and queries", function()
  peer = start_peer "b"
  cluster.reload { b = "127.0.0.1:" .. peer.port }
  T.eq(table.pack(cluster.call("b", "@echo", "echo", "hello", 1)), table.pack("hello", 1))
  T.eq(cluster.call("b", ".echo_local", "echo", "local"), "local")
  local h = cluster.query("b", "echo")
  T.eq(cluster.call("b", h, "echo", "by handle"), "by handle")
  cluster.send("b", "@echo", "push", "one")
  T.eventually(function() return cluster.call("b", "@echo", "pushes") == 1 end)
  T.eq(#cluster.call("b", "@echo", "bytes", 100000), 100000)
  T.eq(cluster.call("b", "@echo", "size", string.rep("x", 100000)), 100000)
end)

T.test("the second node calls back", function()
  cluster.call("b", "@echo", "reload", { home = "127.0.0.1:" .. home_port })
  T.eq(cluster.call("b", "@echo", "call", "home", "@echo", "echo", "round trip"), "round trip")
  T.eq(cluster.call("b", "@echo", "call", "home", "@echo", "size", string.rep("y", 70000)), 70000)
end)

T.test("128 calls in flight fail when the node is killed; calls work again when it returns", function()
  local calls = {}
  for i = 1, 128 do
    calls[i] = T.spawn(cluster.call, "b", "@echo", "sleep", 1000, i)
  end
  skynet.sleep(20) -- let them reach the peer
  for _, c in ipairs(calls) do
    T.ok(not c.done, "still waiting before the kill")
  end
  local killed = skynet.now()
  peer:kill()
  for _, c in ipairs(calls) do
    T.match(c:err(500), "call failed$")
  end
  skynet.error(string.format("cluster_nodes: 128 pending calls failed %d ms after the kill", (skynet.now() - killed) * 10))
  T.raises("call failed$", cluster.call, "b", "@echo", "echo", "down")
  local port = peer.port
  peer = start_peer("b", port)
  T.eq(cluster.call("b", "@echo", "echo", "back"), "back")
end, 3000)

T.test("reload to a new address fails the pending call and dials the new one", function()
  local other = start_peer "c"
  local pending = T.spawn(cluster.call, "b", "@echo", "sleep", 1000, "never")
  skynet.sleep(10)
  cluster.reload { b = "127.0.0.1:" .. other.port }
  T.match(pending:err(500), "call failed$")
  T.eq(cluster.call("b", "@echo", "pushes"), 0) -- a fresh node: nothing was pushed to it
  other:stop()
end, 3000)

skynet.start(function()
  local echo = skynet.newservice "cluster_echo"
  cluster.register("echo", echo)
  local _
  _, home_port = cluster.open(0)
  T.start()
end)
