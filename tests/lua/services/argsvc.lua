-- argsvc: reports what the loader gave it. Any lua request replies
-- { args, service_name, service_path, package_path, preload, globals_cleared }.
local skynet = require "skynet"

local info = {
  args = table.pack(...),
  service_name = SERVICE_NAME,
  service_path = SERVICE_PATH,
  package_path = package.path,
  preload = PRELOAD_ARGS, -- set by tests/lua/lib/preload.lua when the loader case enables it
  globals_cleared = LUA_SERVICE == nil and LUA_PATH == nil and LUA_CPATH == nil and LUA_PRELOAD == nil,
}

skynet.start(function()
  skynet.dispatch("lua", function()
    skynet.retpack(info)
  end)
end)
