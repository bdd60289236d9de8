-- The client node of make bench-cluster: starts the native benchmark, which aborts when done.
local skynet = require "skynet"
require "skynet.manager"

skynet.start(function()
  skynet.launch "cluster_bench"
end)
