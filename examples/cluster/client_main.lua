-- The calling node: reaches the other node's database through the cluster from Lua, then from
-- the native service cluster_client (examples/cluster/cluster_client.cpp), then stops both nodes.
local skynet = require "skynet"
require "skynet.manager"
local cluster = require "skynet.cluster"

local function say(...)
  skynet.error("client (Lua):", ...)
end

skynet.start(function()
  cluster.reload { db = skynet.getenv "db_address" }
  say("SET hello world ->", cluster.call("db", "@sdb", "SET", "hello", "world"))
  say("GET hello ->", cluster.call("db", "@sdb", "GET", "hello"))
  local sdb = cluster.query("db", "sdb")
  say(string.format("@sdb is :%08x on db", sdb))
  local proxy = cluster.proxy "db@sdb"
  say("GET hello through a proxy ->", skynet.call(proxy, "lua", "GET", "hello"))
  local ok, err = pcall(cluster.call, "db", "@sdb", "DROP")
  say("an unknown operation ->", ok, err)

  local native = skynet.launch "cluster_client"
  local ok_native = skynet.call(native, "lua", "run", "db")
  say("the native client", ok_native and "succeeded" or "failed")

  cluster.send("db", "@db_main", "quit")
  skynet.timeout(20, function()
    if not ok_native then
      skynet.error("client: the demo failed")
    end
    skynet.abort()
  end)
end)
