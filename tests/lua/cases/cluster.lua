-- skynet.cluster on one node that calls itself over loopback: the API, the registry, proxies,
-- snax, reload, large messages and what callers see on failure (docs/CLUSTER.md).
local skynet = require "skynet"
require "skynet.manager"
local cluster = require "skynet.cluster"
local snax = require "skynet.snax"
local socket = require "skynet.socket"
local T = require "testlib"

local echo, port

-- A port nobody listens on: bound by a gate, then closed.
local function free_port()
  local gate = skynet.newservice "gate"
  local _, p = skynet.call(gate, "lua", "open", { address = "127.0.0.1", port = 0 })
  skynet.call(gate, "lua", "close")
  skynet.kill(gate)
  return p
end

T.test("open(port) listens on every address and returns the bound port", function()
  local addr, p = cluster.open(0)
  T.eq(addr, "0.0.0.0")
  T.ok(math.type(p) == "integer" and p > 0, "a real port")
  port = p
  cluster.reload { self = "127.0.0.1:" .. port, down = false }
end)

T.test("open(name) listens on the node's address and returns name, nil", function()
  -- The port was free a moment ago; its old listener may still be closing.
  local opened
  T.eventually(function()
    cluster.reload { named = "127.0.0.1:" .. free_port() }
    opened = table.pack(pcall(cluster.open, "named"))
    return opened[1]
  end)
  T.eq(table.pack(table.unpack(opened, 2, opened.n)), table.pack("named", nil))
  T.eq(cluster.call("named", "@echo", "echo", "via named"), "via named")
  T.raises("call failed$", cluster.open, "down")
end)

T.test("call by @name, by handle, by .name, by numeric string", function()
  T.eq(table.pack(cluster.call("self", "@echo", "echo", "hello", 1, nil, { x = 2 })),
    table.pack("hello", 1, nil, { x = 2 }))
  T.eq(cluster.call("self", echo, "echo", "by handle"), "by handle")
  T.eq(cluster.call("self", ".echo_local", "echo", "by local name"), "by local name")
  T.eq(cluster.call("self", tostring(echo), "echo", "by string"), "by string")
  T.eq(cluster.call("self", string.format(":%08x", echo), "echo", "by hex"), "by hex")
end)

T.test("send reaches the remote service in order", function()
  local before = skynet.call(echo, "lua", "pushes")
  for i = 1, 5 do
    cluster.send("self", "@echo", "push", "sent", i)
  end
  T.eventually(function() return skynet.call(echo, "lua", "pushes") == before + 5 end)
  local _, last = skynet.call(echo, "lua", "pushes")
  T.eq(last, table.pack("sent", 5))
end)

T.test("query returns the registered handle; a miss fails", function()
  T.eq(cluster.query("self", "echo"), echo)
  local from = T.mark()
  T.raises("call failed$", cluster.query, "self", "nosuch")
  T.log("name not found", from)
end)

T.test("remote errors reach the caller as call failed and are logged by the sender", function()
  local from = T.mark()
  T.raises("call failed$", cluster.call, "self", "@echo", "fail")
  T.raises("call failed$", cluster.call, "self", "@nosuch", "echo")
  T.log("Invalid name", from)
  T.raises("call failed$", cluster.call, "self", T.INVALID, "echo")
  T.raises("call failed$", cluster.call, "self", ".nosuch", "echo")
  T.eq(cluster.call("self", "@echo", "echo", "still works"), "still works")
end)

T.test("address strings of 0 or more than 255 bytes fail", function()
  local from = T.mark()
  T.raises("call failed$", cluster.call, "self", "", "echo")
  T.raises("call failed$", cluster.call, "self", "@" .. string.rep("n", 255), "echo")
  T.log("name length is invalid", from)
end)

T.test("large requests and replies are split and joined", function()
  T.eq(cluster.call("self", "@echo", "size", string.rep("x", 100000)), 100000)
  T.eq(#cluster.call("self", "@echo", "bytes", 100000), 100000)
  T.eq(#cluster.call("self", "@echo", "echo", string.rep("y", 32765)), 32765)
  T.eq(cluster.call("self", "@echo", "size", string.rep("y", 32765)), 32765)
  local before = skynet.call(echo, "lua", "pushes")
  cluster.send("self", "@echo", "push", string.rep("z", 40000))
  T.eventually(function() return skynet.call(echo, "lua", "pushes") == before + 1 end)
  local _, last = skynet.call(echo, "lua", "pushes")
  T.eq(#last[1], 40000)
end)

T.test("10 MiB request and 10 MiB reply", function()
  local big = string.rep("0123456789abcdef", 10 * 65536)
  T.eq(cluster.call("self", "@echo", "size", big), #big)
  local reply = cluster.call("self", "@echo", "echo", big)
  T.ok(reply == big, "the reply is the request")
end, 3000)

T.test("replies come back out of order when the first call is slow", function()
  local order = {}
  local slow = T.spawn(function()
    cluster.call("self", "@echo", "sleep", 50)
    order[#order + 1] = "slow"
  end)
  cluster.call("self", "@echo", "echo", "fast")
  order[#order + 1] = "fast"
  slow:value()
  T.eq(order, { "fast", "slow" })
end)

T.test("calls and sends made before the sender is known keep their order", function()
  local client = skynet.newservice "cluster_echo" -- a fresh service: no sender cached
  local before = skynet.call(echo, "lua", "pushes")
  for i = 1, 3 do
    skynet.send(client, "lua", "send", "self", "@echo", "push", i)
  end
  local n, last = skynet.call(client, "lua", "call", "self", "@echo", "pushes")
  T.eq(n, before + 3)
  T.eq(last, table.pack(3))
  skynet.send(client, "lua", "exit")
  T.gone(client)
end)

T.test("register, rename and unregister; remote name caches follow", function()
  local other = skynet.newservice "cluster_echo"
  local from = T.mark()
  cluster.register("first", other)
  T.log(string.format("Register %%[first%%] :%08x", other), from)
  T.eq(cluster.call("self", "@first", "echo", 1), 1)
  T.raises("call failed$", cluster.register, "first", echo)
  cluster.register("second", other) -- a service has one name: "first" goes
  T.eq(cluster.call("self", "@second", "echo", 2), 2)
  T.raises("call failed$", cluster.call, "self", "@first", "echo", 3)
  cluster.unregister "second"
  T.log(string.format("Unregister %%[second%%] :%08x", other), from)
  T.raises("call failed$", cluster.call, "self", "@second", "echo", 4)
  cluster.unregister "never registered"
  skynet.send(other, "lua", "exit")
  T.gone(other)
end)

T.test("proxy: equivalent forms give one handle; calls and sends go through", function()
  local p = cluster.proxy "self@echo"
  T.eq(cluster.proxy("self", "@echo"), p)
  T.eq(skynet.call(p, "lua", "echo", "through proxy"), "through proxy")
  local before = skynet.call(echo, "lua", "pushes")
  skynet.send(p, "lua", "push", "proxied")
  T.eventually(function() return skynet.call(echo, "lua", "pushes") == before + 1 end)
  local q = cluster.proxy "self.echo_local"
  T.eq(cluster.proxy("self", ".echo_local"), q)
  T.eq(skynet.call(q, "lua", "echo", 5), 5)
  local n = cluster.proxy("self", echo)
  T.eq(cluster.proxy("self", tostring(echo)) ~= nil, true)
  T.eq(skynet.call(n, "lua", "echo", 6), 6)
  T.raises("call failed$", skynet.call, p, "lua", "fail")
  T.raises("call failed$", cluster.proxy, "noseparator")
end)

T.test("cluster.snax binds a remote unique snax service", function()
  snax.uniqueservice "pingserver"
  local obj = cluster.snax("self", "pingserver")
  T.eq(obj.req.ping "over the cluster", "over the cluster")
  local h = snax.queryservice "pingserver"
  local direct = cluster.snax("self", "pingserver", h.handle)
  T.eq(direct.req.ping "by handle", "by handle")
end)

T.test("reload to false closes the sender; back to an address works again", function()
  T.eq(cluster.call("self", "@echo", "echo", 1), 1)
  local from = T.mark()
  cluster.reload { self = false }
  T.log("Close cluster sender", from)
  T.raises("call failed$", cluster.call, "self", "@echo", "echo", 2)
  cluster.reload { self = "127.0.0.1:" .. port }
  T.eventually(function()
    return pcall(cluster.call, "self", "@echo", "echo", 3)
  end)
  T.eq(cluster.call("self", "@echo", "echo", 4), 4)
end)

T.test("a node that is false from the start raises on first use", function()
  T.raises("down", cluster.call, "down", "@echo", "echo")
  cluster.send("down", "@echo", "push", "dropped") -- no error
end)

T.test("the first call to a refused address raises", function()
  cluster.reload { refused = "127.0.0.1:" .. free_port() }
  T.raises("not reachable", cluster.call, "refused", "@echo", "echo")
  T.raises("not reachable", cluster.call, "refused", "@echo", "echo") -- no cache of a failure
end)

T.test("an absent node waits for reload; with __nowaiting it fails at once", function()
  local from = T.mark()
  local waiting = T.blocks(20, cluster.call, "later", "@echo", "echo", "waited")
  T.log("Waiting for cluster node %[later%]", from)
  cluster.reload { later = "127.0.0.1:" .. port }
  T.log("Cluster node %[later%] resolved : 127.0.0.1:" .. port, from)
  T.eq(waiting:value(), "waited")
  local blocked = T.blocks(20, cluster.call, "absent", "@echo", "echo")
  cluster.reload { __nowaiting = true }
  T.log("Config nowaiting = true", from)
  T.match(blocked:err(), "not reachable")
  T.raises("not reachable", cluster.call, "absent2", "@echo", "echo")
  cluster.reload { __nowaiting = false }
end)

T.test("reload refuses a bad entry and changes nothing", function()
  T.raises("call failed$", cluster.reload, { self = 12, other = "127.0.0.1:1" })
  T.eq(cluster.call("self", "@echo", "echo", "kept"), "kept")
end)

T.test("a traced call is traced on both ends", function()
  local from = T.mark()
  skynet.trace "cluster-trace"
  T.eq(cluster.call("self", "@echo", "echo", "traced"), "traced")
  T.log("cluster self", from)
end)

skynet.start(function()
  echo = skynet.newservice "cluster_echo"
  skynet.name(".echo_local", echo)
  cluster.register("echo", echo)
  T.start()
end)
