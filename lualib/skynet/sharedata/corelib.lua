-- The reader side of skynet.sharedata (docs/LIBRARIES.md "sharedata"): proxies over the
-- immutable objects of skynet.sharedata.core. A proxy is a table holding the object address
-- (__obj), its parent proxy and key (__parent, __key), its cached child proxies (__cache);
-- the root also holds the box (__gcobj) that keeps a count on the object and receives updates.
local core = require "skynet.sharedata.core"

local index = core.index
local read = core.read
local nextkey = core.nextkey
local isdirty = core.isdirty
local needupdate = core.needupdate
local rawget = rawget
local type = type
local error = error
local setmetatable = setmetatable

local corelib = {}
local meta = {}

local function path(proxy)
  local keys = {}
  while rawget(proxy, "__parent") do
    table.insert(keys, 1, "." .. tostring(rawget(proxy, "__key")))
    proxy = rawget(proxy, "__parent")
  end
  return table.concat(keys)
end

local function invalidate(proxy)
  proxy.__obj = false
  for _, child in pairs(rawget(proxy, "__cache")) do invalidate(child) end
end

-- Re-points the cached children of `proxy` to the nodes at the same keys. A child whose key no
-- longer leads to a table is detached for good: it raises from now on, and a later read of
-- the key makes a new child.
local function repoint(proxy)
  local obj = rawget(proxy, "__obj")
  local cache = rawget(proxy, "__cache")
  for key, child in pairs(cache) do
    local v = index(obj, key)
    if type(v) == "userdata" then
      child.__obj = v
      repoint(child)
    else
      cache[key] = nil
      invalidate(child)
    end
  end
end

local function apply(root, newobj)
  root.__obj = newobj
  root.__gcobj = core.box(newobj) -- the old box, collected, lets go of the old version
  repoint(root)
end

-- The object behind a proxy, after applying any update that arrived for its root. `level`:
-- of the reader's code that made the access, for the error of a vanished key.
local function getobj(proxy, level)
  local obj = rawget(proxy, "__obj")
  if obj and isdirty(obj) then
    local root = proxy
    while rawget(root, "__parent") do root = rawget(root, "__parent") end
    local newobj = needupdate(rawget(root, "__gcobj"))
    if newobj then
      apply(root, newobj)
      obj = rawget(proxy, "__obj")
    end
  end
  if not obj then
    error(string.format("The key [%s] doesn't exist after update", path(proxy)), level + 1)
  end
  return obj
end

local function child(proxy, key, obj)
  local cache = rawget(proxy, "__cache")
  local c = cache[key]
  if c == nil then
    c = setmetatable({ __parent = proxy, __key = key, __obj = obj, __cache = {} }, meta)
    cache[key] = c
  end
  return c
end

-- The lookup after an update may be waiting (or the proxy vanished). Level 4: the reader's
-- code, above core.indexer's C closure and slow_index.
local function index_updated(proxy, key)
  return index(getobj(proxy, 4), key)
end

-- What the C __index (core.indexer) does not answer itself: table values (child proxies),
-- dirty or vanished objects, keys other than strings and integers.
local function slow_index(self, key)
  local obj = self.__obj -- always present (false once vanished): a raw hit
  -- Both lookups are called `index` here: a bad key's error names it as skynet's does.
  local v, dirty
  if obj then
    local index = read
    v, dirty = index(obj, key)
  end
  if dirty or not obj then v = index_updated(self, key) end
  if type(v) == "userdata" then return child(self, key, v) end
  return v
end

meta.__index = core.indexer(slow_index)

function meta:__newindex(key)
  error(string.format("Error newindex, the key [%s]", path(self)), 2)
end

function meta:__len()
  return core.len(getobj(self, 2))
end

local function next_pair(proxy, key)
  local k = nextkey(getobj(proxy, 2), key)
  if k == nil then return end
  return k, proxy[k]
end

function meta:__pairs()
  return next_pair, self, nil
end

-- A root proxy for object `obj`.
function corelib.box(obj)
  return setmetatable({ __obj = obj, __gcobj = core.box(obj), __cache = {} }, meta)
end

-- Attaches a newer version to a root; readers switch on their next access.
function corelib.update(root, newobj)
  core.update(rawget(root, "__gcobj"), newobj)
end

-- Applies a pending update now.
function corelib.flush(root)
  local newobj = needupdate(rawget(root, "__gcobj"))
  if newobj then apply(root, newobj) end
end

local function copy(obj)
  local t = {}
  local k = nextkey(obj)
  while k ~= nil do
    local v = index(obj, k)
    if type(v) == "userdata" then v = copy(v) end
    t[k] = v
    k = nextkey(obj, k)
  end
  return t
end

-- A plain copy of `obj`, or of the node at the path of keys (nothing when the path breaks).
function corelib.copy(obj, ...)
  local v = obj
  for i = 1, select("#", ...) do
    if type(v) ~= "userdata" then return end
    v = index(v, (select(i, ...)))
    if v == nil then return end
  end
  if type(v) == "userdata" then return copy(v) end
  return v
end

-- The object a root proxy shows now (updates applied).
function corelib.object(root)
  corelib.flush(root)
  return rawget(root, "__obj")
end

return corelib
