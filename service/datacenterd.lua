-- Global `DATACENTER` (docs/LUA_SERVICES.md): a tree of values addressed by key paths, with
-- requests that wait for a path to get a value.
local skynet = require "skynet"

local data = {}

-- Waiters are kept in a second tree shaped like the paths waited for; the closures waiting
-- for exactly a node's path sit under this private key, which no unpacked key can equal.
local waiters = {}
local HERE = {}

local NORET = {}

local command = {}

local function lookup(...)
  local node = data
  for i = 1, select("#", ...) do
    if type(node) ~= "table" then
      return nil
    end
    node = node[(select(i, ...))]
  end
  return node
end

-- Wakes the waiters concerned by path[1..depth] getting a value: those on that exact path
-- get it; those on a shorter path fail, since their value became a table of this update.
local function wake(path, depth, value)
  local chain = { waiters }
  local node = waiters
  for i = 1, depth do
    node = node[path[i]]
    if node == nil then
      break
    end
    chain[#chain + 1] = node
    local list = node[HERE]
    if list then
      node[HERE] = nil
      for _, response in ipairs(list) do
        if i == depth then
          response(true, value)
        else
          response(false)
        end
      end
    end
  end
  -- Drop the waiter nodes left empty, deepest first.
  for i = #chain, 2, -1 do
    if next(chain[i]) ~= nil then
      break
    end
    chain[i - 1][path[i - 1]] = nil
  end
end

function command.QUERY(...)
  return lookup(...)
end

function command.UPDATE(...)
  local path = table.pack(...)
  local n = path.n
  assert(n >= 2, "UPDATE needs a key path and a value")
  local value = path[n]
  local node = data
  for i = 1, n - 2 do
    local key = path[i]
    local child = node[key]
    if child == nil then
      child = {}
      node[key] = child
    elseif type(child) ~= "table" then
      error(string.format("UPDATE: key %s holds a %s, not a table", tostring(key), type(child)))
    end
    node = child
  end
  local key = path[n - 1]
  local previous = node[key]
  node[key] = value
  if previous == nil and value ~= nil then
    wake(path, n - 1, value)
  end
  return previous
end

function command.WAIT(...)
  local value = lookup(...)
  if value ~= nil then
    return value
  end
  local node = waiters
  for i = 1, select("#", ...) do
    local key = select(i, ...)
    local child = node[key]
    if child == nil then
      child = {}
      node[key] = child
    end
    node = child
  end
  local list = node[HERE]
  if not list then
    list = {}
    node[HERE] = list
  end
  list[#list + 1] = skynet.response()
  return NORET
end

skynet.dispatch("lua", function(_, _, cmd, ...)
  local f = assert(command[cmd], cmd)
  local result = f(...)
  if result ~= NORET then
    skynet.retpack(result)
  end
end)

skynet.start(function() end)
