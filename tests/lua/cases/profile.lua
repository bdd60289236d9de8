-- skynet.profile and the timing coroutine.resume / coroutine.wrap the host installs;
-- skynet.stat "time" and "cpu" (docs/LUA.md, "skynet.profile").
-- Durations are only compared from below or against the CPU the test itself burnt.
local skynet = require "skynet"
local profile = require "skynet.profile"
local T = require "testlib"

-- Burns at least `seconds` of this thread's CPU (skynet.stat "time": the current message's
-- CPU); returns the amount measured.
local function spin(seconds)
  local t0 = skynet.stat "time"
  local deadline = skynet.hpc() + 30 * 1000000000
  while skynet.stat "time" - t0 < seconds do
    if skynet.hpc() > deadline then T.fail "skynet.stat 'time' does not advance" end
  end
  return skynet.stat "time" - t0
end

local SLACK = 1e-5 -- stat "time" is printed with 6 decimals

-- Requests to self: a handler that starts a profile and never stops it, then one that starts
-- again in the same (pooled) coroutine.
skynet.dispatch("lua", function(_, _, cmd)
  if cmd == "leak" then
    profile.start()
    skynet.retpack(tostring(coroutine.running()))
  elseif cmd == "fresh" then
    profile.start()
    skynet.retpack(tostring(coroutine.running()), profile.stop())
  end
end)

-- First: profile.start is first used inside a user coroutine.
T.test("profile.start inside a user coroutine: only its own running stretches count", function()
  local own = 0
  local co = coroutine.create(function()
    profile.start()
    own = own + spin(0.02)
    coroutine.yield()
    own = own + spin(0.02)
    coroutine.yield()
  end)
  T.eq(coroutine.resume(co), true)
  spin(0.2)
  T.eq(coroutine.resume(co), true)
  spin(0.2)
  local spent = profile.stop(co)
  T.eq(math.type(spent), "float")
  T.ok(spent >= own - SLACK, ("%f >= %f"):format(spent, own))
  T.ok(spent < 0.2, ("%f excludes the resumer's 0.2 s"):format(spent))
end)

T.test("the module: start, stop, resume, wrap, yield; coroutine.resume and wrap are its versions", function()
  for _, name in ipairs { "start", "stop", "resume", "wrap", "yield" } do
    T.eq(type(profile[name]), "function", name)
  end
  T.eq(coroutine.resume, profile.resume)
  T.eq(coroutine.wrap, profile.wrap)
end)

T.test("start / stop in a skynet coroutine: at least the CPU burnt in between", function()
  profile.start()
  local used = spin(0.05)
  local spent = profile.stop()
  T.ok(spent >= used - SLACK, ("%f >= %f"):format(spent, used))
end)

T.test("across skynet yields the stretches add up", function()
  profile.start()
  local used = spin(0.02)
  skynet.yield()
  used = used + spin(0.02)
  skynet.sleep(1)
  used = used + spin(0.02)
  local spent = profile.stop()
  T.ok(spent >= used - SLACK, ("%f >= %f"):format(spent, used))
end)

T.test("a suspended coroutine is not charged for what the service runs meanwhile", function()
  local token, spent = {}, nil
  skynet.fork(function()
    profile.start()
    skynet.wait(token)
    spent = profile.stop()
  end)
  skynet.yield() -- the fork starts and waits
  spin(0.2)
  skynet.wakeup(token)
  T.eventually(function() return spent end)
  T.ok(spent < 0.2, ("%f excludes the 0.2 s burnt by another coroutine"):format(spent))
end)

T.test("start / stop of another coroutine; coroutine.wrap times its coroutine too", function()
  local own = 0
  local co = coroutine.create(function()
    own = own + spin(0.02)
    coroutine.yield()
    own = own + spin(0.02)
  end)
  profile.start(co)
  coroutine.resume(co)
  spin(0.2)
  coroutine.resume(co)
  T.eq(coroutine.status(co), "dead")
  local spent = profile.stop(co)
  T.ok(spent >= own - SLACK and spent < 0.2, ("%f: >= %f, < 0.2"):format(spent, own))

  own = 0
  local wrapped
  local f = coroutine.wrap(function()
    wrapped = coroutine.running()
    profile.start()
    own = own + spin(0.02)
    coroutine.yield()
    own = own + spin(0.02)
    coroutine.yield()
  end)
  f()
  spin(0.2)
  f()
  spent = profile.stop(wrapped)
  T.ok(spent >= own - SLACK and spent < 0.2, ("wrap: %f: >= %f, < 0.2"):format(spent, own))
end)

T.test("errors: starting twice, stopping without start", function()
  profile.start()
  T.raises("start profile more than once", profile.start)
  profile.stop()
  T.raises("profile%.stop without profile%.start", profile.stop)
  local co = coroutine.create(function() end)
  T.raises("profile%.stop without profile%.start", profile.stop, co)
  T.raises("thread expected", profile.start, 1)
end)

T.test("a handler's unstopped profile does not follow its pooled coroutine", function()
  local first = skynet.call(skynet.self(), "lua", "leak")
  local second, spent = skynet.call(skynet.self(), "lua", "fresh")
  T.eq(second, first, "the same coroutine served both")
  T.ok(spent >= 0)
end)

T.test("coroutine.resume behaves as the library's", function()
  local co = coroutine.create(function(a, b)
    local c = coroutine.yield(a + b)
    return c, "done"
  end)
  T.eq(table.pack(coroutine.resume(co, 1, 2)), table.pack(true, 3))
  T.eq(table.pack(coroutine.resume(co, 7)), table.pack(true, 7, "done"))
  T.eq(table.pack(coroutine.resume(co)), table.pack(false, "cannot resume dead coroutine"))
  profile.start()
  T.eq(table.pack(coroutine.resume(coroutine.running())),
    table.pack(false, "cannot resume non-suspended coroutine"))
  T.ok(profile.stop() >= 0)
  T.raises("bad argument #1 to '[%w.]*resume' %(thread expected", coroutine.resume, 1)
  local failing = coroutine.create(function() error("inside", 0) end)
  T.eq(table.pack(coroutine.resume(failing)), table.pack(false, "inside"))
end)

T.test("coroutine.wrap behaves as the library's: values, errors with the caller's position", function()
  local f = coroutine.wrap(function(a)
    local b = coroutine.yield(a + 1)
    return b * 2
  end)
  T.eq(f(1), 2)
  T.eq(f(5), 10)
  local ok, e = pcall(function() f() end) local line = debug.getinfo(1, "l").currentline
  T.eq(ok, false)
  T.match(e, "^[^ ]-profile%.lua:" .. line .. ": cannot resume dead coroutine$")

  local closed = false
  local g = coroutine.wrap(function()
    local _ <close> = setmetatable({}, { __close = function() closed = true end })
    error("boom")
  end)
  ok, e = pcall(function() g() end) line = debug.getinfo(1, "l").currentline
  T.eq(ok, false)
  T.match(e, "^[^ ]-profile%.lua:" .. line .. ": [^ ]-profile%.lua:%d+: boom$")
  T.ok(closed, "to-be-closed variables ran")

  local object = {}
  ok, e = pcall(coroutine.wrap(function() error(object) end))
  T.eq(ok, false)
  T.ok(e == object, "a non-string error is passed as is")
  T.raises("bad argument #1 to '[%w.]*wrap' %(function expected", coroutine.wrap, 1)
end)

T.test("skynet.stat: time is this message's CPU, cpu adds up every message", function()
  local before = skynet.stat "cpu"
  local used = spin(0.05)
  T.ok(skynet.stat "time" >= used, "time")
  skynet.yield() -- the message ends and is accounted
  T.ok(skynet.stat "cpu" >= before + used - SLACK, "cpu")
end)

-- The process's own CPU time (user + system), in seconds.
local function process_cpu()
  local f = assert(io.open "/proc/self/stat")
  local line = f:read "a"
  f:close()
  -- Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
  local fields = {}
  for field in line:match "%) (.*)":gmatch "%S+" do
    fields[#fields + 1] = field
  end
  return (tonumber(fields[12]) + tonumber(fields[13])) / 100 -- clock ticks (USER_HZ)
end

T.test("per-service CPU (stat cpu) adds up to the process's CPU within 10%", function()
  -- Four services burn about 1 s of CPU between them in messages of 2 to 20 ms, with both
  -- workers busy; the meter shares each worker's CPU clock among them (docs/DESIGN.md). The
  -- messages are long so that what a worker burns between them (spinning for the next one,
  -- which no service is charged for) stays small against them even on a loaded machine.
  local burners = {}
  for i = 1, 4 do
    burners[i] = skynet.newservice "cpu_burner"
  end
  local function service_cpu()
    local sum = skynet.stat "cpu"
    for _, b in ipairs(burners) do
      sum = sum + skynet.call(b, "debug", "STAT").cpu
    end
    return sum
  end
  local services0, process0 = service_cpu(), process_cpu()
  local workers = {}
  for _, b in ipairs(burners) do
    for _ = 1, 2 do
      workers[#workers + 1] = T.spawn(function()
        for round = 1, 12 do
          skynet.call(b, "lua", "burn", ({ 200000, 2000000 })[round % 2 + 1])
        end
      end)
    end
  end
  for _, w in ipairs(workers) do
    w:value(6000)
  end
  local services, process = service_cpu() - services0, process_cpu() - process0
  skynet.error(string.format("per-service CPU %.3f s, process CPU %.3f s, ratio %.3f", services,
    process, services / process))
  T.ok(process > 0.5, "the burners used CPU")
  T.ok(math.abs(services - process) <= 0.1 * process,
    string.format("services %.3f s vs process %.3f s", services, process))
  for _, b in ipairs(burners) do
    skynet.kill(b)
  end
end, 12000)

T.start()
