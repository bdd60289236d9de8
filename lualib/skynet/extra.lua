-- The part of `require "skynet"` written in Lua: functions used rarely enough that a service
-- which never touches them should not hold their code. The skynet table's __index loads this
-- file once, on the first use of a field the C side does not provide.
local skynet = require "skynet"

skynet.cache = require "skynet.codecache"

-- Waiting coroutines grouped by identical traceback (the debug command UNIQTASK).
function skynet.uniqtask()
	local groups = {}
	for key, traceback in pairs(skynet.task({})) do
		local session = tonumber(string.match(key, "session: (%d+)$"))
		local group = groups[traceback]
		if not group then
			group = {}
			groups[traceback] = group
		end
		group[#group + 1] = session
	end
	local result = {}
	for traceback, sessions in pairs(groups) do
		table.sort(sessions)
		local listed = table.concat(sessions, ",", 1, math.min(#sessions, 9))
		local more = #sessions > 10 and ",..." or ""
		result[string.format("%d\tsessions:[%s%s]\n", #sessions, listed, more)] = traceback
	end
	return result
end

-- skynet.request: several calls at once, answers in arrival order.
local request_set = {}
request_set.__index = request_set

function request_set:add(req)
	assert(not self._selected, "request set already selected")
	self._list[#self._list + 1] = req
	return self
end
request_set.__call = request_set.add

function request_set:close()
	self._closed = true
	if self._token then
		skynet.wakeup(self._token)
	end
end
request_set.__close = request_set.close

function request_set:select(timeout)
	assert(not self._selected, "select can be called only once")
	self._selected = true
	local ready, head, tail = {}, 1, 0
	local pending = #self._list
	local token = {}
	self._token = token
	local function arrive(req, resp)
		pending = pending - 1
		if self._closed or self.timeout then
			return
		end
		tail = tail + 1
		ready[tail] = { req, resp }
		skynet.wakeup(token)
	end
	for _, req in ipairs(self._list) do
		skynet.fork(function()
			local ok, result = pcall(function()
				return table.pack(skynet.call(req[1], req[2], table.unpack(req, 3, #req)))
			end)
			if ok then
				arrive(req, result)
			elseif string.find(tostring(result), "call to invalid address", 1, true) then
				arrive(req, nil)
			else
				arrive(req, false)
			end
		end)
	end
	if timeout then
		skynet.fork(function()
			skynet.sleep(timeout)
			if pending > 0 and not self._closed then
				self.timeout = true
				skynet.wakeup(token)
			end
		end)
	end
	return function()
		while true do
			if head <= tail then
				local item = ready[head]
				ready[head] = nil
				head = head + 1
				return item[1], item[2]
			end
			if pending <= 0 or self.timeout or self._closed then
				return nil
			end
			skynet.wait(token)
		end
	end
end

function skynet.request(req)
	local set = setmetatable({ _list = {} }, request_set)
	if req then
		set:add(req)
	end
	return set
end

return skynet
