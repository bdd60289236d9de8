-- skynet.shutdown (Starling's own; docs/LUA_SERVICES.md): how a Lua service takes part in
-- stopping the node. SIGTERM, SIGINT or `request` start a graceful shutdown: the listeners
-- close, every service that registered a hook runs it, and the node stops once all of them
-- have returned (at most `shutdown_timeout`), the log flushed.
local skynet = require "skynet"
local core = require "skynet.core"

local shutdown = {}
local hooks = {}

-- The debug command "SHUTDOWN" the node sends to the services that watch: the hooks run one
-- after the other in this coroutine (they may call, sleep, ...); one that fails is logged.
local function run(reason)
	for _, hook in ipairs(hooks) do
		local ok, err = xpcall(hook, debug.traceback, reason)
		if not ok then
			skynet.error("shutdown hook failed: " .. tostring(err))
		end
	end
	core.command("SHUTDOWN", "done")
end

-- Runs `hook(reason)` when a graceful shutdown starts; reason is "SIGTERM", "SIGINT" or what
-- `request` was given. Hooks run in the order they were added.
function shutdown.hook(hook)
	assert(type(hook) == "function", "shutdown.hook needs a function")
	if #hooks == 0 then
		require("skynet.debug").reg_debugcmd("SHUTDOWN", run)
		core.command("SHUTDOWN", "watch")
	end
	hooks[#hooks + 1] = hook
end

-- Asks for a graceful shutdown, as SIGTERM does. The process then exits with `status`
-- (default 0); a status other than 0 also prints `reason` on stderr, for a supervisor.
function shutdown.request(reason, status)
	reason = tostring(reason or "requested")
	status = math.tointeger(status or 0)
	assert(status and status >= 0 and status <= 255, "shutdown.request: status must be in [0,255]")
	core.command("SHUTDOWN", string.format("request %d %s", status, reason))
end

return shutdown
