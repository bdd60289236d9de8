-- skynet.sharedata (docs/LIBRARIES.md "sharedata"): read-only data built by the unique
-- service sharedatad and read by every service without copying.
local skynet = require "skynet"
local corelib = require "skynet.sharedata.corelib"

local service
skynet.init(function()
  service = skynet.uniqueservice "sharedatad"
end)

local sharedata = {}
local cache = {} -- name -> root proxy

-- Follows the versions of `name` for this service until the name is deleted.
local function monitor(name, root, obj)
  while true do
    obj = skynet.call(service, "lua", "monitor", name, obj)
    if obj == nil then break end
    corelib.update(root, obj)
    skynet.send(service, "lua", "confirm", obj)
  end
  if cache[name] == root then cache[name] = nil end
end

function sharedata.query(name)
  local root = cache[name]
  if root then return root end
  local obj = skynet.call(service, "lua", "query", name)
  root = cache[name]
  if root then -- another coroutine got there first
    skynet.send(service, "lua", "confirm", obj)
    return root
  end
  root = corelib.box(obj)
  skynet.send(service, "lua", "confirm", obj)
  cache[name] = root
  skynet.fork(monitor, name, root, obj)
  return root
end

function sharedata.new(name, v, ...)
  skynet.call(service, "lua", "new", name, v, ...)
end

function sharedata.update(name, v, ...)
  skynet.call(service, "lua", "update", name, v, ...)
end

function sharedata.delete(name)
  skynet.call(service, "lua", "delete", name)
end

function sharedata.flush()
  for _, root in pairs(cache) do corelib.flush(root) end
  collectgarbage()
end

function sharedata.deepcopy(name, ...)
  local root = cache[name]
  if root then return corelib.copy(corelib.object(root), ...) end
  local obj = skynet.call(service, "lua", "query", name)
  local ret = table.pack(pcall(corelib.copy, obj, ...))
  skynet.send(service, "lua", "confirm", obj)
  if not ret[1] then error(ret[2]) end
  return table.unpack(ret, 2, ret.n)
end

return sharedata
