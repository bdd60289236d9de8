-- The `cluster` config key: the node table read from a file when clusterd starts and again on
-- cluster.reload() (docs/CLUSTER.md, "Configuration").
--! cluster = test_tmp .. "/nodes.lua"
local skynet = require "skynet"

local nodes_file = skynet.getenv "test_tmp" .. "/nodes.lua"

local function write_nodes(text)
  local f = assert(io.open(nodes_file, "w"))
  f:write(text)
  f:close()
end

-- Before skynet.cluster starts clusterd, which reads it.
write_nodes 'self = false\n__nowaiting = true\n'

local cluster = require "skynet.cluster"
local T = require "testlib"

local port

T.test("the file is read at start: options logged, a false node is down", function()
  T.log "Config nowaiting = true"
  T.raises("down", cluster.call, "self", "@echo", "echo", 1)
  T.raises("not reachable", cluster.call, "nowhere", "@echo", "echo", 1) -- __nowaiting
end)

T.test("reload() reads the file again", function()
  write_nodes(string.format('self = "127.0.0.1:%d"\n', port))
  cluster.reload()
  T.eq(cluster.call("self", "@echo", "echo", "from the file"), "from the file")
end)

T.test("a file with a bad entry changes nothing", function()
  write_nodes 'self = 42\nother = "127.0.0.1:1"\n'
  T.raises("call failed$", cluster.reload)
  T.eq(cluster.call("self", "@echo", "echo", "kept"), "kept")
end)

T.test("a file that does not run changes nothing", function()
  write_nodes 'self = = 1\n'
  T.raises("call failed$", cluster.reload)
  T.eq(cluster.call("self", "@echo", "echo", "still kept"), "still kept")
end)

skynet.start(function()
  cluster.register("echo", skynet.newservice "cluster_echo")
  local _
  _, port = cluster.open(0)
  T.start()
end)
