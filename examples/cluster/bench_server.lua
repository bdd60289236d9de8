-- The server node of make bench-cluster (scripts/cluster_bench.sh): "@echo" answers the
-- commands of the cluster benchmarks; the node listens on a free port, written to
-- <demo_dir>/db.port, and stops on "quit".
local skynet = require "skynet"
require "skynet.manager" -- skynet.abort
local cluster = require "skynet.cluster"

local pushes, bytes = 0, 0
local command = {}
function command.echo(s) return s end
function command.push(s) pushes, bytes = pushes + 1, bytes + #s end
function command.count() return pushes, bytes end
function command.reset() pushes, bytes = 0, 0 return true end
function command.quit() skynet.timeout(10, skynet.abort) end

skynet.start(function()
  skynet.dispatch("lua", function(session, _, cmd, ...)
    local f = assert(command[cmd], cmd)
    if session == 0 then
      f(...)
    else
      skynet.retpack(f(...))
    end
  end)
  cluster.register "echo"
  local _, port = cluster.open(0)
  local dir = skynet.getenv "demo_dir"
  local f = assert(io.open(dir .. "/db.port.tmp", "w"))
  f:write(port, "\n")
  f:close()
  assert(os.rename(dir .. "/db.port.tmp", dir .. "/db.port"))
end)
