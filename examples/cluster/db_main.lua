-- The database node: simpledb, registered in the cluster as "sdb", on a free port that it
-- writes to <demo_dir>/db.port for the other node. The client stops it with a "quit" send.
local skynet = require "skynet"
require "skynet.manager"
local cluster = require "skynet.cluster"

skynet.start(function()
  local db = skynet.newservice "simpledb"
  cluster.register("sdb", db)
  skynet.dispatch("lua", function(_, source, cmd)
    if cmd == "quit" then
      skynet.error("db: asked to quit by " .. skynet.address(source))
      skynet.timeout(10, skynet.abort) -- lets the log lines out first
    end
  end)
  cluster.register("db_main")
  local _, port = cluster.open(0)
  skynet.error(string.format("db: simpledb is %s, registered as @sdb, listening on port %d", skynet.address(db), port))
  local f = assert(io.open(skynet.getenv "demo_dir" .. "/db.port.tmp", "w"))
  f:write(port, "\n")
  f:close()
  assert(os.rename(skynet.getenv "demo_dir" .. "/db.port.tmp", skynet.getenv "demo_dir" .. "/db.port"))
end)
