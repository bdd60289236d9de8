-- The standalone node (harbor 1) of scripts/harbor-interop.sh. Runs unchanged on skynet and
-- Starling (public API only). It registers the global name IECHO for an echo service and logs
-- `INTEROP READY`; when the other node has registered ISLAVE it calls it back by name and by
-- handle, prints `INTEROP PASS|FAIL master <check>` per check and `INTEROP MASTER DONE
-- <passed>/<checks>`.
local skynet = require "skynet"
require "skynet.manager"
local harbor = require "skynet.harbor"
local interop_checks = require "interop_checks"

local role = ...

local function echo_service()
  skynet.dispatch("lua", function(_, source, cmd, ...)
    if cmd == "echo" then
      skynet.retpack(...)
    elseif cmd == "source" then
      skynet.retpack(source)
    elseif cmd == "fail" then
      error "asked to fail"
    elseif cmd == "note" then
      print("INTEROP NOTE " .. tostring(...))
    end
  end)
end

skynet.start(function()
  if role == "echo" then
    echo_service()
    return
  end
  local echo = skynet.newservice(SERVICE_NAME, "echo")
  skynet.name("IECHO", echo)
  skynet.error "INTEROP READY"
  local tally = interop_checks.new "master "
  local check = tally.check
  local slave = harbor.queryname "ISLAVE"
  check("ISLAVE is on harbor 2", function()
    assert(skynet.harbor(slave) == 2, skynet.address(slave))
  end)
  check("call by name", function()
    assert(skynet.call("ISLAVE", "lua", "echo", "back", 2) == "back")
  end)
  check("call by handle keeps the source", function()
    assert(skynet.call(slave, "lua", "source") == skynet.self())
  end)
  tally.done "MASTER DONE"
end)
