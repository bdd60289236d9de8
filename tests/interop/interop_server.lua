-- The listening side of scripts/cluster-interop.sh. Runs unchanged on skynet and Starling
-- (public API only): registers the cluster name "interop" and the local name ".interop",
-- listens on a port the system picks and logs `INTEROP READY <port>`. Then it serves the
-- client's commands until the script stops the node.
local skynet = require "skynet"
require "skynet.manager"
local cluster = require "skynet.cluster"
local payload = require "interop_payload"

local pushes = {} -- tag -> { length, content matches payload(length, seed) }

local command = {}

function command.echo(...)
  return ...
end

function command.whoami()
  return skynet.self()
end

function command.check(s, n, seed)
  return #s == n and s == payload(n, seed), #s
end

function command.make(n, seed)
  return payload(n, seed)
end

function command.fail()
  error "interop: deliberate failure"
end

function command.push(tag, s, seed)
  pushes[tag] = { #s, seed == nil or s == payload(#s, seed) }
end

function command.pushed(tag)
  local p = pushes[tag]
  if p then
    return p[1], p[2]
  end
end

skynet.start(function()
  skynet.dispatch("lua", function(session, _, cmd, ...)
    local f = command[cmd]
    if session == 0 then
      assert(f, "unknown push")(...)
    elseif f then
      skynet.retpack(f(...))
    else
      -- a call whose only argument is a string that is no command: echo it
      skynet.retpack(cmd)
    end
  end)
  skynet.register ".interop"
  cluster.register "interop"
  local _, port = cluster.open(0)
  skynet.error("INTEROP READY " .. tostring(port))
end)
