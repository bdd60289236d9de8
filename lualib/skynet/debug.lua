-- The debug protocol every Lua service answers (docs/LUA.md). The C side
-- loads this module on the first debug message and dispatches to `dispatch`.
local skynet = require "skynet"

local commands = {}
local extra = {}

local function reply(...)
	skynet.retpack(...)
end

function commands.MEM()
	reply(collectgarbage "count")
end

local collecting = false
function commands.GC()
	-- No reply: the launcher sends this one-way. Overlapping requests are dropped.
	if collecting then
		return
	end
	collecting = true
	local before = collectgarbage "count"
	local started = os.clock()
	collectgarbage "collect"
	skynet.yield()
	local after = collectgarbage "count"
	skynet.error(string.format("GC %.2f Kb -> %.2f Kb, cost %.2f sec", before, after, os.clock() - started))
	collecting = false
end

function commands.STAT()
	reply {
		task = skynet.task(),
		mqlen = skynet.stat "mqlen",
		cpu = skynet.stat "cpu",
		message = skynet.stat "message",
	}
end

function commands.TASK(session)
	if session then
		reply(skynet.task(session))
	else
		local tasks = {}
		skynet.task(tasks)
		reply(tasks)
	end
end

function commands.UNIQTASK()
	reply(skynet.uniqtask())
end

function commands.KILLTASK(name)
	local co = skynet.killthread(name)
	if co then
		skynet.error(string.format("Kill %s", tostring(co)))
		reply()
	else
		skynet.error(string.format("Kill %s : Not found", tostring(name)))
		reply "Not found"
	end
end

function commands.INFO(...)
	local info = skynet.info_func()
	if info then
		reply(info(...))
	else
		reply(nil)
	end
end

function commands.EXIT()
	skynet.exit()
end

-- Upvalues of a function by name.
local function upvalues(f)
	local result = {}
	local i = 1
	while true do
		local name, value = debug.getupvalue(f, i)
		if name == nil then
			break
		end
		result[name] = value
		i = i + 1
	end
	return result
end

local known_protocols = { "lua", "text", "client", "system", "socket", "snax", "debug", "harbor" }

function commands.RUN(source, filename, ...)
	local output = {}
	local function print(...)
		local parts = {}
		for i = 1, select("#", ...) do
			parts[i] = tostring((select(i, ...)))
		end
		output[#output + 1] = table.concat(parts, "\t")
	end
	local protocols = {}
	for _, name in ipairs(known_protocols) do
		local dispatch = skynet.dispatch(name)
		if type(dispatch) == "function" then
			protocols[name] = upvalues(dispatch)
		end
	end
	local env = setmetatable({ print = print, _U = {}, _P = protocols }, { __index = _ENV })
	local chunk, err = load(source, filename and ("@" .. filename) or "=(load)", "bt", env)
	if not chunk then
		reply(false, err)
		return
	end
	local ok, failure = xpcall(chunk, debug.traceback, ...)
	if not ok then
		output[#output + 1] = tostring(failure)
	end
	reply(ok, table.concat(output, "\n"))
end

function commands.TERM(address)
	skynet.term(address)
end

-- The console's `debug`: answered when the operator leaves debug mode.
function commands.REMOTEDEBUG(fd, channel_id)
  require("skynet.remotedebug").start(fd, channel_id)
end

function commands.SUPPORT(typename)
	reply(skynet.dispatch(typename) ~= nil)
end

function commands.PING()
	reply()
end

-- Never answered while the service lives; its exit fails the held reply: a death notice.
local links = {}
function commands.LINK()
	links[#links + 1] = skynet.response()
end

function commands.TRACELOG(proto, flag)
	if type(proto) ~= "string" then
		flag = proto
		proto = "lua"
	end
	skynet.error(string.format("Turn trace log %s for %s", tostring(flag), proto))
	skynet.traceproto(proto, flag)
	reply()
end

local M = {}

function M.reg_debugcmd(name, f)
	extra[name] = f
end

function M.dispatch(session, source, cmd, ...)
	local f = commands[cmd] or extra[cmd]
	assert(f, cmd)
	f(...)
end

return M
