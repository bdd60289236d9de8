-- snax interface parser (docs/LUA_SERVICES.md): runs a snax file's main chunk with the global table
-- G to learn its methods. Used by snaxd (G = the service's globals), by every client (G =
-- a nearly empty table) and by hotfix (G = a copy of the service's globals).
--
-- parse(name, G [, loader]) -> methods, pattern
--   methods[id] = { id, group, name, function }: ids 1..4 are the system handlers init,
--   exit, hotfix, profile (function nil when the file does not define them); then every
--   accept.* / response.* declaration in the order the assignments execute.
--   loader(path, name, G) -> mainfunc, pattern replaces the search through the snax path.
local skynet = require "skynet"

local SYSTEM = { "init", "exit", "hotfix", "profile" }
local SYSTEM_ID = {}
for id, name in ipairs(SYSTEM) do
  SYSTEM_ID[name] = id
end

-- Tries every template of the snax path; the first that loads wins.
local function search(path, name, G)
  local errors = {}
  for template in path:gmatch("[^;]+") do
    local filename = template:gsub("%?", function() return name end)
    local f, err = loadfile(filename, "bt", G)
    if f then
      return f, template
    end
    errors[#errors + 1] = err
  end
  error(table.concat(errors, "\n"), 0)
end

-- A declaration table: assignments declare methods, reads see the declared functions.
local function group_table(group, methods)
  local declared = {}
  return setmetatable({}, {
    __index = declared,
    __newindex = function(_, key, value)
      if type(key) ~= "string" then
        error(group .. " method only support string", 2)
      end
      if type(value) ~= "function" then
        error(group .. "." .. key .. " must be function", 2)
      end
      if declared[key] then
        error(group .. "." .. key .. " duplicate definition", 2)
      end
      declared[key] = value
      local id = #methods + 1
      methods[id] = { id, group, key, value }
    end,
  })
end

return function(name, G, loader)
  local path = skynet.getenv "snax"
  if path == nil then
    error("please set snax in config file", 0)
  end
  assert(getmetatable(G) == nil, "the snax global table has a metatable")
  for _, key in ipairs { "init", "exit", "accept", "response" } do
    assert(G[key] == nil, key .. " is already defined")
  end

  local methods = {}
  for id, sysname in ipairs(SYSTEM) do
    methods[id] = { id, "system", sysname, nil }
  end
  local groups = {
    accept = group_table("accept", methods),
    response = group_table("response", methods),
  }
  local temporaries = {}

  setmetatable(G, {
    __index = function(_, key)
      local group = groups[key]
      if group ~= nil then
        return group
      end
      return temporaries[key]
    end,
    __newindex = function(_, key, value)
      local id = SYSTEM_ID[key]
      if id then
        if type(value) ~= "function" then
          error(key .. " must be a function", 2)
        end
        methods[id][4] = value
      else
        temporaries[key] = value
      end
    end,
  })

  local ok, mainfunc, pattern = pcall(loader or search, path, name, G)
  if ok then
    ok, mainfunc = xpcall(mainfunc, debug.traceback)
  end
  setmetatable(G, nil)
  if not ok then
    error(mainfunc, 0)
  end
  for key, value in pairs(temporaries) do
    rawset(G, key, value)
  end
  return methods, pattern
end
