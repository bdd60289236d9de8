-- harbor_peer: the start service of a node in the harbor cases (tests/lua/lib/nodes.lua). It
-- registers itself as the global name PEER<harbor id>, opens the cluster on a free port (the
-- driver, a harbor-0 node, reaches it as "@ctl" there) and writes that port to its ready file.
--
-- Commands (lua): echo(...) -> ...; fail() raises; hold() never answers; note(text) logs;
-- source() returns the caller's handle; eval(code) runs code
-- (a Lua chunk with skynet and harbor in scope) and returns its results; spawn(code) runs it
-- in a fork and returns a key whose result(key) is { done = bool, ok, ... }.

local skynet = require "skynet"
require "skynet.manager"
local cluster = require "skynet.cluster"
local harbor = require "skynet.harbor"
local nodes = require "nodes"

local env = setmetatable({ skynet = skynet, harbor = harbor }, { __index = _G })
local spawned = {}
local held = {}
local caller -- source of the message being handled

local function compile(code)
  return assert(load(code, "=eval", "t", env))
end

local command = {}

function command.echo(...)
  return ...
end

function command.fail()
  error "harbor_peer: asked to fail"
end

function command.source()
  return caller
end

function command.note(text)
  skynet.error("NOTE " .. tostring(text))
end

function command.eval(code)
  return compile(code)()
end

function command.spawn(code)
  local f = compile(code)
  local key = #spawned + 1
  local slot = { done = false }
  spawned[key] = slot
  skynet.fork(function()
    local r = table.pack(pcall(f))
    slot.result = r
    slot.done = true
  end)
  return key
end

function command.result(key)
  local slot = spawned[key]
  if not slot.done then
    return { done = false }
  end
  return { done = true, table.unpack(slot.result, 1, slot.result.n) }
end

skynet.start(function()
  skynet.dispatch("lua", function(session, source, cmd, ...)
    caller = source
    if cmd == "hold" then
      held[#held + 1] = skynet.response()
      return
    end
    local f = assert(command[cmd], cmd)
    if session == 0 then
      f(...)
    else
      skynet.retpack(f(...))
    end
  end)
  local id = skynet.harbor(skynet.self())
  skynet.name("PEER" .. id, skynet.self())
  cluster.register("ctl", skynet.self())
  local _, port = cluster.open(0)
  nodes.ready(port)
end)
