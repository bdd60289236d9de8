-- A tiny key-value store over the lua protocol, registered as `.simpledb`.
--   GET(key)        -> value or nil
--   SET(key, value) -> previous value or nil
local skynet = require "skynet"
require "skynet.manager"

local store = {}

local handlers = {
  GET = function(key)
    return store[key]
  end,
  SET = function(key, value)
    local previous = store[key]
    store[key] = value
    return previous
  end,
}

skynet.start(function()
  skynet.dispatch("lua", function(_, _, op, ...)
    local handler = handlers[op]
    if not handler then
      error("simpledb: unknown operation " .. tostring(op))
    end
    skynet.retpack(handler(...))
  end)
  skynet.register ".simpledb"
end)
