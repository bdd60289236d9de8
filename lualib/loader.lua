-- Runs once in every Lua service (config `lualoader`), with the launch parameter
-- "<service name> <args...>": finds the service file along LUA_SERVICE, sets up the module
-- paths and SERVICE_NAME / SERVICE_PATH, runs `preload`, then the service's main chunk with
-- the arguments as strings (shared/spec/core.md section 13.4).
local words = {}
for word in string.gmatch(..., "%S+") do
	words[#words + 1] = word
end
local name = words[1]
SERVICE_NAME = name

local main, template
local errors = {}
for candidate in string.gmatch(LUA_SERVICE, "([^;]+);*") do
	local filename = string.gsub(candidate, "%?", name)
	local chunk, err = loadfile(filename)
	if chunk then
		main, template = chunk, candidate
		break
	end
	errors[#errors + 1] = err
end
if not main then
	error(table.concat(errors, "\n"))
end

package.path, package.cpath = LUA_PATH, LUA_CPATH
LUA_SERVICE, LUA_PATH, LUA_CPATH = nil, nil, nil

-- A template `<dir>/?/<file>` means a service directory; its modules come first.
local service_dir = string.match(template, "^(.*)/%?/[^/]*$")
if service_dir then
	SERVICE_PATH = service_dir .. "/" .. name .. "/"
	package.path = SERVICE_PATH .. "?.lua;" .. package.path
else
	SERVICE_PATH = string.match(template, "^(.*/)[^/]*$") or "./"
end

if LUA_PRELOAD then
	local f = assert(loadfile(LUA_PRELOAD))
	f(table.unpack(words))
	LUA_PRELOAD = nil
end

main(select(2, table.unpack(words)))
