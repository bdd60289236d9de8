-- The C++ cluster API (src/cluster/cluster.hpp) through the native service of the two-node
-- demo, examples/cluster/cluster_client.cpp, on a node that calls itself over loopback.
local skynet = require "skynet"
--! luaservice = luaservice .. ";" .. test_src .. "/../../examples/simpledb/?.lua"
require "skynet.manager"
local cluster = require "skynet.cluster"
local T = require "testlib"

local native

T.test("a native service calls, sends and queries; a remote error is call_failed", function()
  T.eq(skynet.call(native, "lua", "run", "self"), true)
  T.log("client %(C%+%+%): GET native %-> from C%+%+")
  T.log("client %(C%+%+%): an unknown operation %-> call failed")
end)

T.test("a native service registers a name that remote Lua callers reach", function()
  T.eq(skynet.call(native, "lua", "register", "native_echo"), true)
  T.eq(cluster.call("self", "@native_echo", "echo", "to C++"), "to C++")
  T.eq(skynet.call(cluster.proxy "self@native_echo", "lua", "echo", "by proxy"), "by proxy")
end)

T.test("a node that is down or absent fails the native call", function()
  cluster.reload { down = false, __nowaiting = true }
  T.eq(skynet.call(native, "lua", "run", "down"), false)
  T.eq(skynet.call(native, "lua", "run", "absent"), false)
  T.log("client %(C%+%+%): SET native %-> call failed")
end)

skynet.start(function()
  local db = skynet.newservice "simpledb"
  cluster.register("sdb", db)
  skynet.call(db, "lua", "SET", "hello", "world")
  local _, port = cluster.open(0)
  cluster.reload { self = "127.0.0.1:" .. port }
  native = skynet.launch "cluster_client"
  T.start()
end)
