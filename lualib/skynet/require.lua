-- The skynet-aware `require` used from coroutines (docs/LUA.md): the
-- module body runs in the requiring coroutine, so it may call other services; others asking
-- for a module while it loads wait for it; skynet.init functions of the body run right after
-- it. The C shim that replaces the global `require` loads this file on first use.
local skynet = require "skynet"

local loading = {} -- module name -> { co = loading coroutine, waiters = { tokens } }

local function wait_for(name, state)
	if state.co == coroutine.running() then
		error(string.format("circular dependency when loading %s", name))
	end
	local token = {}
	state.waiters[#state.waiters + 1] = token
	skynet.wait(token)
	local value = package.loaded[name]
	if value == nil then
		error(string.format("require %s failed", name))
	end
	return value
end

return function(name, plain_require)
	local state = loading[name]
	if state then
		return wait_for(name, state)
	end
	local filename = package.searchpath(name, package.path)
	if not filename then
		return plain_require(name)
	end
	local chunk = assert(loadfile(filename))
	state = { co = coroutine.running(), waiters = {} }
	loading[name] = state
	local inits = {}
	local init = skynet.init
	skynet.init = function(f)
		assert(type(f) == "function")
		inits[#inits + 1] = f
	end
	local ok, result = pcall(chunk, name, filename)
	skynet.init = init
	if ok then
		ok, result = pcall(function()
			for _, f in ipairs(inits) do
				f()
			end
			return result
		end)
	end
	loading[name] = nil
	if ok then
		if package.loaded[name] == nil then
			package.loaded[name] = result == nil and true or result
		end
	end
	for _, token in ipairs(state.waiters) do
		skynet.wakeup(token)
	end
	if not ok then
		error(result, 0)
	end
	return package.loaded[name]
end
