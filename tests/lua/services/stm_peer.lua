-- One side of an stm cell in a service of its own, for the stm case: a writer ("new",
-- "write", "exit") or a reader ("adopt", "read").
local skynet = require "skynet"
local stm = require "skynet.stm"

local writer, reader

local CMD = {}

function CMD.new(...)
  writer = stm.new(skynet.pack(...))
  return stm.copy(writer)
end

function CMD.copy()
  return stm.copy(writer)
end

function CMD.write(...)
  writer(skynet.pack(...))
end

function CMD.adopt(ref)
  reader = stm.newcopy(ref)
end

function CMD.read()
  return table.pack(reader(skynet.unpack))
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, ...)
    if cmd == "exit" then skynet.exit() end
    skynet.retpack(CMD[cmd](...))
  end)
end)
