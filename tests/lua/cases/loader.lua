-- The loader (lualib/loader.lua), skynet's require, preload and the code cache.
-- docs/TESTING.md: core checklist items 21 and 27.
local skynet = require "skynet"
local codecache = require "skynet.codecache"
local T = require "testlib"

local src = T.getenv "test_src"
local tmp = T.getenv "test_tmp"

local function templates()
  local list = {}
  for t in string.gmatch(skynet.getenv "luaservice", "[^;]+") do list[#list + 1] = t end
  return list
end

T.test("missing service file: lua loader error listing every tried path; newservice fails", function()
  local from = T.mark()
  T.raises("call failed$", skynet.newservice, "no_such_service")
  local line = T.log("^%[:%x+%] lua loader error : ", from)
  for _, t in ipairs(templates()) do
    local path = t:gsub("%?", "no_such_service")
    T.ok(line:find(path, 1, true), "tried path " .. path .. " in " .. T.repr(line))
  end
end)

T.test("SERVICE_NAME, SERVICE_PATH, package.path; arguments are strings split on whitespace", function()
  local info = skynet.call(skynet.newservice("argsvc", 1, "a b", 2.5, "c"), "lua", "info")
  T.eq(info.args, table.pack("1", "a", "b", "2.5", "c"), "arguments")
  T.eq(info.service_name, "argsvc", "SERVICE_NAME")
  T.eq(info.service_path, src .. "/services/", "SERVICE_PATH")
  T.eq(info.package_path, skynet.getenv "lua_path", "package.path")
  T.eq(info.globals_cleared, true, "LUA_SERVICE, LUA_PATH, LUA_CPATH, LUA_PRELOAD cleared")
  T.eq(info.preload, nil, "no preload configured")
end)

T.test("a dir/?/init.lua template: SERVICE_PATH is the service directory, put on package.path", function()
  local info = skynet.call(skynet.newservice("pkgsvc"), "lua", "info")
  local dir = src .. "/services/pkgsvc/"
  T.eq(info.service_name, "pkgsvc", "SERVICE_NAME")
  T.eq(info.service_path, dir, "SERVICE_PATH")
  T.eq(info.package_path:sub(1, #dir + 6), dir .. "?.lua;", "package.path starts with the directory")
  T.eq(info.module, "pkgmod", "sibling module")
end)

T.test("require from a skynet coroutine: the body may yield; init runs after it; loaded once", function()
  local p1 = T.spawn(require, "mods.yieldmod")
  local p2 = T.spawn(require, "mods.yieldmod")
  local m1, m2 = p1:value(), p2:value()
  T.ok(m1 == m2, "both requirers get the same module")
  T.eq(m1.loads, 1, "body runs")
  T.eq(m1.init_after_body, true, "skynet.init ran after the body, before require returned")
  T.ok(require "mods.yieldmod" == m1, "already loaded")
end)

T.test("a module body returning nothing gives true", function()
  T.eq(require "mods.nilmod", true)
  T.eq(NILMOD_RAN, true)
end)

T.test("a failing module: the loader gets the error, a waiter gets require <name> failed", function()
  local p1 = T.spawn(require, "mods.failmod")
  local p2 = T.spawn(require, "mods.failmod")
  T.match(p1:err(), "failmod boom", "first requirer")
  T.match(p2:err(), "require mods%.failmod failed", "waiting requirer")
end)

T.test("circular require raises circular dependency", function()
  T.raises("circular dependency", require, "mods.circa")
end)

T.test("code cache: an edited service file is used only after codecache.clear()", function()
  local function write(version)
    local f = assert(io.open(tmp .. "/svc/cachesvc.lua", "w"))
    f:write(string.format([[
local skynet = require "skynet"
skynet.start(function()
  skynet.dispatch("lua", function() skynet.retpack(%q) end)
end)
]], version))
    f:close()
  end
  T.ok(skynet.cache == codecache or skynet.cache.clear == codecache.clear, "skynet.cache is the code cache")
  T.eq(codecache.mode(), "ON", "default mode")
  write("v1")
  T.eq(skynet.call(skynet.newservice("cachesvc"), "lua", "version"), "v1", "first load")
  write("v2")
  T.eq(skynet.call(skynet.newservice("cachesvc"), "lua", "version"), "v1", "launch after the edit")
  codecache.clear()
  T.eq(skynet.call(skynet.newservice("cachesvc"), "lua", "version"), "v2", "launch after clear")
end)

-- Last: the preload key applies to every Lua service created afterwards.
T.test("preload runs first, with the service name and the arguments", function()
  skynet.setenv("preload", src .. "/lib/preload.lua")
  local info = skynet.call(skynet.newservice("argsvc", "x", "y"), "lua", "info")
  T.eq(info.preload, table.pack("argsvc", "x", "y"), "preload arguments, seen by the main chunk")
  T.eq(info.args, table.pack("x", "y"), "service arguments")
  T.eq(info.globals_cleared, true, "LUA_PRELOAD cleared")
end)

T.start()
