-- pkgsvc: a service found through a `<dir>/?/init.lua` luaservice template; its directory is
-- on package.path, so it can require its sibling pkgmod.lua.
local skynet = require "skynet"
local pkgmod = require "pkgmod"

local info = {
  service_name = SERVICE_NAME,
  service_path = SERVICE_PATH,
  package_path = package.path,
  module = pkgmod.name,
}

skynet.start(function()
  skynet.dispatch("lua", function()
    skynet.retpack(info)
  end)
end)
