-- `.cslave` of a single-node node (docs/LUA_SERVICES.md): owns the table of global names and
-- hands each new one to the native harbor service, which routes messages sent to it.
local skynet = require "skynet"
require "skynet.manager"

local harbor_service
local globals = {}    -- global name -> handle
local queries = {}    -- global name -> response closures of QUERYNAMEs waiting for it
local held = {}       -- CONNECT replies, kept so that they are never sent

local command = {}

function command.REGISTER(name, handle)
  assert(globals[name] == nil, "global name already registered: " .. tostring(name))
  globals[name] = handle
  local waiting = queries[name]
  queries[name] = nil
  if waiting then
    for _, response in ipairs(waiting) do
      response(true, handle)
    end
  end
  -- The harbor service learns the name's owner from the message source.
  skynet.redirect(harbor_service, handle, "harbor", 0, "N " .. name)
end

function command.QUERYNAME(name)
  if name:sub(1, 1) == "." then
    skynet.retpack(skynet.localname(name))
    return
  end
  local handle = globals[name]
  if handle then
    skynet.retpack(handle)
    return
  end
  local waiting = queries[name]
  if not waiting then
    waiting = {}
    queries[name] = waiting
  end
  waiting[#waiting + 1] = skynet.response()
end

function command.LINK()
  skynet.ret()
end

function command.CONNECT()
  skynet.error("Can't connect to other harbor in single node mode")
  held[#held + 1] = skynet.response()
end

skynet.register_protocol {
  name = "harbor",
  id = skynet.PTYPE_HARBOR,
}

-- Notifications from the harbor service (name queries) need no answer in single-node mode.
skynet.register_protocol {
  name = "text",
  id = skynet.PTYPE_TEXT,
  unpack = skynet.tostring,
  dispatch = function() end,
}

skynet.dispatch("lua", function(_, _, cmd, ...)
  local f = assert(command[cmd], cmd)
  f(...)
end)

skynet.start(function()
  harbor_service = assert(skynet.launch("harbor", 0, skynet.self()))
end)
