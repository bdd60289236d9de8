-- sprotopeer: another service of the node for tests/lua/cases/sproto.lua, which checks that
-- sprotoloader's slots are shared by the whole process.
local skynet = require "skynet"
local loader = require "sprotoloader"

local CMD = {}

-- The hex of Person { name = "x" } encoded with the schema of slot `index`.
function CMD.encode(index)
  local bytes = loader.load(index):encode("Person", { name = "x" })
  return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

function CMD.has_type(index, name)
  return loader.load(index):exist_type(name)
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, ...)
    skynet.retpack(CMD[cmd](...))
  end)
end)
