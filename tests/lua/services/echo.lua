-- echo: a general-purpose peer for the Lua test cases.
-- skynet.newservice("echo", args...); then skynet.call(h, "lua", <command>, ...).
-- Values a command cannot return (it replied already, or it is a send) are stored in
-- `state` and read back with "get".

local skynet = require "skynet"
require "skynet.manager"

local launch_args = table.pack(...)
local CMD = {}
local state = {}    -- key -> value, read with "get"
local deferred = {} -- key -> response closure (skynet.response)

local function spin_until(cond, seconds)
  local deadline = skynet.hpc() + seconds * 1000000000
  while not cond() do
    if skynet.hpc() > deadline then return false end
  end
  return true
end

-- Replies ------------------------------------------------------------------------------------

function CMD.echo(...) skynet.retpack(...) end
function CMD.nothing() skynet.ret() end
function CMD.retpack_function() skynet.retpack(print) end -- cannot be packed
function CMD.raise(msg) error(msg) end
function CMD.forget() end -- no reply: "Maybe forgot response"
function CMD.args() skynet.retpack(table.unpack(launch_args, 1, launch_args.n)) end
function CMD.self() skynet.retpack(skynet.self()) end
function CMD.context() skynet.retpack(skynet.context()) end
function CMD.get(key) skynet.retpack(state[key]) end
function CMD.ping() skynet.ret() end

-- (send) Appends v to the list state[key].
function CMD.collect(key, v)
  local list = state[key] or {}
  state[key] = list
  list[#list + 1] = v
end

function CMD.sleep(ti, ...)
  skynet.sleep(ti)
  skynet.retpack(...)
end

-- Suspends in skynet.wait until "release" (or forever).
local held = {}
function CMD.hold(key)
  key = key or "hold"
  held[key] = coroutine.running()
  skynet.wait(held[key])
  skynet.retpack("released")
end
function CMD.release(key)
  skynet.retpack(skynet.wakeup(held[key or "hold"]))
end

function CMD.exit() skynet.exit() end

-- Call or send on behalf of the tester.
function CMD.call(addr, ...) skynet.retpack(skynet.call(addr, "lua", ...)) end
function CMD.send(addr, ...) skynet.retpack(skynet.send(addr, "lua", ...)) end

-- ret / response ---------------------------------------------------------------------------

function CMD.ret_twice()
  skynet.retpack("first")
  state.ret_twice = table.pack(pcall(skynet.ret))
end

function CMD.ret_in_fork()
  skynet.fork(function()
    state.ret_in_fork = table.pack(pcall(skynet.retpack, "late"))
  end)
  skynet.retpack("ok")
end

function CMD.ret_on_send() -- sent, not called
  state.ret_on_send = table.pack(skynet.retpack("x"))
end

function CMD.response_on_send() -- sent, not called
  local r = skynet.response()
  state.response_on_send = table.pack(type(r), pcall(r, true, "x"))
end

function CMD.response_in_fork()
  skynet.fork(function()
    state.response_in_fork = table.pack(pcall(skynet.response))
  end)
  skynet.ret()
end

function CMD.response_after_ret()
  skynet.ret()
  state.response_after_ret = table.pack(pcall(skynet.response))
end

function CMD.ret_then_raise(msg)
  skynet.retpack("fine")
  error(msg)
end

function CMD.context_after_ret()
  local s1, src1 = skynet.context()
  skynet.retpack(s1, src1)
  state.context_after_ret = table.pack(skynet.context())
end

function CMD.defer(key)
  deferred[key] = skynet.response()
end
function CMD.has(key) skynet.retpack(deferred[key] ~= nil) end
function CMD.respond(key, ...)
  skynet.retpack(pcall(deferred[key], ...))
end

-- Forwarding --------------------------------------------------------------------------------

-- Passes the request on with the original source and session: target replies to the caller.
function CMD.forward(target, ...)
  local session, source = skynet.context()
  skynet.ignoreret()
  skynet.redirect(target, source, "lua", session, skynet.pack(...))
end

function CMD.expect_unknown_response()
  skynet.dispatch_unknown_response(function(session, source, msg, sz)
    state.unknown_response = table.pack(session, source, skynet.unpack(msg, sz))
  end)
  skynet.ret()
end

-- Forks ---------------------------------------------------------------------------------------

-- Each argument "raise:<text>" forks a coroutine raising <text>; any other forks one that sets
-- state[<arg>] = true. Replies at once (before the forks run).
function CMD.forks(...)
  for _, what in ipairs { ... } do
    local text = what:match "^raise:(.*)$"
    if text then
      skynet.fork(function() error(text) end)
    else
      skynet.fork(function() state[what] = true end)
    end
  end
  skynet.ret()
end

-- Busy handlers -------------------------------------------------------------------------------

-- Spins (without yielding) until n messages wait in the queue, replies "done", then exits.
function CMD.exit_when_queued(n)
  spin_until(function() return skynet.stat "mqlen" >= n end, 20)
  skynet.retpack("done")
  skynet.exit()
end

-- (send) Spins until n messages wait in the queue, at most `seconds` (default 20). With
-- `notify`, first sends it "spinning" (so the tester knows this message left the queue).
function CMD.spin_until_queued(n, seconds, notify)
  if notify then skynet.send(notify, "lua", "spinning", skynet.self()) end
  state.spin_done = spin_until(function() return skynet.stat "mqlen" >= n end, seconds or 20)
end

function CMD.noop() end

-- Tells `notify` "spinning" then loops for up to 15 s (a SIGNAL 0 should break it).
function CMD.spin(notify)
  skynet.send(notify, "lua", "spinning", skynet.self())
  spin_until(function() return false end, 15)
  skynet.retpack("not interrupted")
end

-- Misc ---------------------------------------------------------------------------------------

function CMD.getenv(key) skynet.retpack(skynet.getenv(key)) end
function CMD.localname(name) skynet.retpack(skynet.localname(name)) end
function CMD.register(name)
  skynet.register(name)
  skynet.ret()
end
function CMD.info_func()
  skynet.info_func(function(...) return { "info", ... } end)
  skynet.ret()
end
function CMD.uniqueservice(...) skynet.retpack(skynet.uniqueservice(...)) end
function CMD.queryservice(...) skynet.retpack(skynet.queryservice(...)) end
function CMD.datacenter(op, ...)
  local datacenter = require "skynet.datacenter"
  skynet.retpack(datacenter[op](...))
end

function CMD.service_new(name)
  local service = require "skynet.service"
  skynet.retpack(service.new(name, function()
    local skynet = require "skynet"
    skynet.start(function()
      skynet.dispatch("lua", function() skynet.retpack("second definition") end)
    end)
  end))
end
function CMD.service_query(name)
  local service = require "skynet.service"
  skynet.retpack(service.query(name))
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, ...)
    local f = CMD[cmd]
    if not f then error("echo: unknown command " .. tostring(cmd)) end
    f(...)
  end)
end)
