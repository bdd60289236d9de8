-- skynet.datasheet (docs/LIBRARIES.md "datasheet"): readers of the documents a builder
-- publishes. A table is a proxy until first read: then its level is copied from the document
-- (skynet.datasheet.core) and it becomes a plain table. On a new version every proxy of the
-- document is emptied and re-pointed to the table with the same index.
local skynet = require "skynet"
local service = require "skynet.service"
local core = require "skynet.datasheet.core"

local address
skynet.init(function()
  address = service.query "datasheet"
end)

local datasheet = {}
local sheets = {}                             -- name -> sheet
local info = setmetatable({}, { __mode = "k" }) -- proxy -> { sheet, index }
local meta = {}

local function proxy_of(sheet, index)
  local p = sheet.proxies[index]
  if p == nil then
    p = setmetatable({}, meta)
    sheet.proxies[index] = p
    info[p] = { sheet, index }
  end
  return p
end

local function materialize(p)
  local sheet, index = table.unpack(info[p])
  setmetatable(p, nil)
  local ok, err = pcall(core.fill, sheet.ptr, index, p, function(j) return proxy_of(sheet, j) end)
  if not ok or not err then
    for k in next, p do p[k] = nil end
    setmetatable(p, meta)
    if not ok then error(err, 3) end
    error(string.format("Invalid proxy (index = %d)", index), 3)
  end
end

function meta:__index(k)
  materialize(self)
  return self[k]
end

function meta:__pairs()
  materialize(self)
  return next, self, nil
end

function meta:__len()
  materialize(self)
  return #self
end

local function repoint(sheet, ptr)
  sheet.ptr = ptr
  for _, p in pairs(sheet.proxies) do
    for k in next, p do p[k] = nil end
    setmetatable(p, meta)
  end
end

local function monitor(sheet)
  while true do
    local ok, ptr = pcall(skynet.call, address, "lua", "monitor", sheet.ptr)
    if not ok or not ptr then return end
    repoint(sheet, ptr)
  end
end

function datasheet.query(name)
  local sheet = sheets[name]
  if sheet then
    if sheet.error then error(sheet.error) end
    if sheet.waiting then
      table.insert(sheet.waiting, coroutine.running())
      skynet.wait()
      if sheet.error then error(sheet.error) end
    end
    return sheet.root
  end
  sheet = { waiting = {}, proxies = setmetatable({}, { __mode = "v" }) }
  sheets[name] = sheet
  local ok, ptr = pcall(skynet.call, address, "lua", "query", name)
  local waiting = sheet.waiting
  sheet.waiting = nil
  if ok then
    sheet.ptr = ptr
    sheet.root = proxy_of(sheet, 0)
    sheet.proxies_root = sheet.root -- the root stays even when nobody holds it
    skynet.fork(monitor, sheet)
  else
    sheet.error = ptr
  end
  for _, co in ipairs(waiting) do skynet.wakeup(co) end
  if not ok then error(ptr) end
  return sheet.root
end

-- Tells the service when this one is gone (the module collected at exit).
datasheet.__closer = setmetatable({}, {
  __gc = function()
    if address then skynet.send(address, "lua", "close") end
  end,
})

return datasheet
