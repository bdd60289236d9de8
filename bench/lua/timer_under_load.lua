-- The timer benchmark of ../shared/bench (bench_timer) with call traffic running beside it in
-- the same node: `bench_load_pairs` callers (default 2, one per worker of the usual two), each
-- calling its own echo service back to back with one coroutine, until the benchmark ends the
-- node. Only skynet's Lua API is used, so it runs on skynet as well (bench/compare.sh, LOAD=n).
local skynet = require "skynet"

local roles = {}

function roles.echo()
	skynet.dispatch("lua", function()
		skynet.ret()
	end)
end

function roles.caller()
	local echo = skynet.newservice("timer_under_load", "echo")
	skynet.fork(function()
		while true do
			skynet.call(echo, "lua")
		end
	end)
end

function roles.main()
	local callers = math.tointeger(tonumber(skynet.getenv("bench_load_pairs") or "2")) or 2
	for _ = 1, callers do
		skynet.newservice("timer_under_load", "caller")
	end
	skynet.newservice("bench_timer")
end

local role = ...
skynet.start(roles[role] or roles.main)
