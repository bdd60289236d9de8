-- cluster_peer: the start service of a second node in the cluster cases (tests/lua/lib/nodes.lua).
-- Registers a cluster_echo as "echo" (also named ".echo_local"), opens the cluster on
-- `cluster_peer_port` (0: any free port) and writes the port to its ready file.

local skynet = require "skynet"
require "skynet.manager"
local cluster = require "skynet.cluster"
local nodes = require "nodes"

skynet.start(function()
  local echo = skynet.newservice "cluster_echo"
  skynet.name(".echo_local", echo)
  cluster.register("echo", echo)
  local _, port = cluster.open(math.tointeger(tonumber(skynet.getenv "cluster_peer_port" or "0")))
  nodes.ready(port)
end)
