-- The joining node (harbor 2) of scripts/harbor-interop.sh. Runs unchanged on skynet and
-- Starling (public API only). Calls the standalone node's IECHO by name and by handle (values,
-- a remote error, a dead handle, 100 000 bytes each way), sends to it, registers ISLAVE for
-- the master node to call back, prints `INTEROP PASS|FAIL <check>` per check and `INTEROP
-- DONE <passed>/<checks>`.
local skynet = require "skynet"
require "skynet.manager"
local harbor = require "skynet.harbor"
local interop_checks = require "interop_checks"

skynet.start(function()
  skynet.dispatch("lua", function(_, source, cmd, ...)
    if cmd == "echo" then
      skynet.retpack(...)
    elseif cmd == "source" then
      skynet.retpack(source)
    end
  end)
  local tally = interop_checks.new()
  local check = tally.check
  local echo = harbor.queryname "IECHO"
  check("skynet.harbor", function()
    local id, remote = skynet.harbor(echo)
    assert(id == 1 and remote == true, tostring(id) .. " " .. tostring(remote))
    id, remote = skynet.harbor(skynet.self())
    assert(id == 2 and remote == false)
  end)
  check("call by handle", function()
    local a, b, c = skynet.call(echo, "lua", "echo", "hi", 42, { k = "v" })
    assert(a == "hi" and b == 42 and c.k == "v")
  end)
  check("call by global name", function()
    assert(skynet.call("IECHO", "lua", "echo", "by name") == "by name")
  end)
  check("the callee sees the caller's handle", function()
    assert(skynet.call(echo, "lua", "source") == skynet.self())
  end)
  check("a remote error is call failed", function()
    local ok, err = pcall(skynet.call, echo, "lua", "fail")
    assert(not ok and tostring(err):find "call failed$", tostring(err))
  end)
  check("a dead remote handle is call failed", function()
    local ok, err = pcall(skynet.call, (echo & 0xff000000) | 0xfffff0, "lua", "echo")
    assert(not ok and tostring(err):find "call failed$", tostring(err))
  end)
  check("100 000 bytes each way", function()
    local big = string.rep("x", 100000)
    assert(skynet.call(echo, "lua", "echo", big) == big)
  end)
  check("a send by name", function()
    skynet.send("IECHO", "lua", "note", "sent by name")
  end)
  skynet.name("ISLAVE", skynet.self())
  tally.done "DONE"
end)
