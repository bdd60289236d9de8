-- skynet.sharemap (docs/LIBRARIES.md "stm and sharemap"): an sproto-typed record shared
-- through an stm cell. The schema lives in sprotoloader slot 0 (process-wide).
local stm = require "skynet.stm"
local sprotoloader = require "sprotoloader"

local sharemap = {}

local schema -- the sproto object of slot 0, loaded on first use in this service

local function sp()
  if schema == nil then schema = sprotoloader.load(0) end
  return schema
end

function sharemap.register(schema_file)
  sprotoloader.register(schema_file, 0)
end

local writer = {}

-- Encodes the record and publishes it to the readers.
function writer:commit()
  self.__stm(sp():encode(self.__typename, self.__data))
end

-- A reference for one reader (pass it in a message to sharemap.reader).
function writer:copy()
  return stm.copy(self.__stm)
end

function sharemap.writer(typename, tbl)
  tbl = tbl or {}
  local self = {
    __typename = typename,
    __data = tbl,
    __stm = stm.new(sp():encode(typename, tbl)),
    commit = writer.commit,
    copy = writer.copy,
  }
  return setmetatable(self, { __index = tbl, __newindex = tbl })
end

local reader = {}

local function decode_into(msg, sz, self)
  local data = self.__data
  for k in pairs(data) do data[k] = nil end
  return sp():decode(self.__typename, msg, sz, data)
end

-- false when nothing changed, else true, the record and the decoded size.
function reader:update()
  return self.__stm(decode_into, self)
end

function sharemap.reader(typename, ref)
  local self = {
    __typename = typename,
    __data = {},
    __stm = stm.newcopy(ref),
    update = reader.update,
  }
  self.__stm(decode_into, self) -- the first version, so update() reports only changes
  return setmetatable(self, { __index = self.__data, __newindex = error })
end

return sharemap
