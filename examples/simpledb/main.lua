-- Start service of the simpledb example: stores a few values, reads them back, logs what it
-- got, then stops the node.
local skynet = require "skynet"
require "skynet.manager"

skynet.start(function()
  local db = skynet.newservice "simpledb"
  skynet.error("simpledb is", skynet.address(db))

  skynet.error("SET hello ->", skynet.call(db, "lua", "SET", "hello", "world"))
  skynet.error("SET hello ->", skynet.call(".simpledb", "lua", "SET", "hello", "again"))
  skynet.error("GET hello ->", skynet.call(".simpledb", "lua", "GET", "hello"))
  skynet.error("GET missing ->", skynet.call(db, "lua", "GET", "missing"))

  -- Stop after the start function has returned (so the bootstrap's exit is logged) and after
  -- the logger has written the lines above (lines still queued at abort are lost).
  skynet.timeout(50, function()
    skynet.abort()
  end)
end)
