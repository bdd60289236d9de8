-- cluster_echo: the target service of the cluster cases, reached through the cluster.
-- lua commands: echo(...) -> ...; fail() raises; sleep(ticks, ...) -> ... after ticks;
-- bytes(n) -> a string of n bytes; size(s) -> #s; push(...) records a send; pushes() -> the
-- number of sends recorded and the arguments of the last one; call(node, address, ...) and
-- send(node, address, ...) go on through the cluster; reload(t); exit().

local skynet = require "skynet"
local cluster = require "skynet.cluster"

local pushes, last = 0, nil

local command = {}

function command.echo(...) return ... end

function command.fail() error "cluster_echo: fail on request" end

function command.sleep(ticks, ...)
  skynet.sleep(ticks)
  return ...
end

function command.bytes(n) return string.rep("x", n) end

function command.size(s) return #s end

function command.push(...)
  pushes = pushes + 1
  last = table.pack(...)
end

function command.pushes()
  return pushes, last
end

function command.call(node, address, ...) return cluster.call(node, address, ...) end

function command.send(node, address, ...) cluster.send(node, address, ...) end

function command.reload(t) cluster.reload(t) end

function command.exit() skynet.exit() end

skynet.start(function()
  skynet.dispatch("lua", function(session, _, cmd, ...)
    local f = assert(command[cmd], cmd)
    if session == 0 then
      f(...)
    else
      skynet.retpack(f(...))
    end
  end)
end)
