-- skynet.coroutine: user coroutines that may call blocking skynet functions.
-- docs/TESTING.md: Lua API checklist item 29.
local skynet = require "skynet"
local coroutine = require "skynet.coroutine"
local T = require "testlib"

T.test("yield and resume pass values like the standard library", function()
  local co = coroutine.create(function(a, b)
    local c = coroutine.yield(a + b, "y")
    return c * 2, nil, "end"
  end)
  T.eq(coroutine.status(co), "suspended")
  T.eq(table.pack(coroutine.resume(co, 1, 2)), table.pack(true, 3, "y"))
  T.eq(table.pack(coroutine.resume(co, 5)), table.pack(true, 10, nil, "end"))
  T.eq(coroutine.status(co), "dead")
  T.eq(table.pack(coroutine.resume(co)), table.pack(false, "cannot resume dead coroutine"))
end)

T.test("a user coroutine that sleeps blocks its resumer; status is blocked meanwhile", function()
  local co = coroutine.create(function()
    skynet.sleep(10)
    return "woke"
  end)
  local seen = {}
  skynet.fork(function() -- runs while the resumer is blocked
    seen.status = coroutine.status(co)
    seen.resume = table.pack(coroutine.resume(co))
  end)
  local t0 = skynet.now()
  T.eq(table.pack(coroutine.resume(co)), table.pack(true, "woke"))
  T.ok(skynet.now() - t0 >= 9, "resume returned before the sleep ended")
  T.eq(seen.status, "blocked")
  T.eq(seen.resume, table.pack(false, "cannot resume a skynet coroutine suspend by skynet framework"))
  T.eq(coroutine.status(co), "dead")
end)

T.test("a user coroutine may call another service and yield afterwards", function()
  local echo = skynet.newservice("echo")
  local co = coroutine.create(function()
    local v = skynet.call(echo, "lua", "echo", "via call")
    coroutine.yield(v)
    return "done"
  end)
  T.eq(table.pack(coroutine.resume(co)), table.pack(true, "via call"))
  T.eq(table.pack(coroutine.resume(co)), table.pack(true, "done"))
end)

T.test("errors inside: resume returns false and the message", function()
  local co = coroutine.create(function()
    skynet.sleep(1)
    error("inside boom")
  end)
  local ok, err = coroutine.resume(co)
  T.eq(ok, false)
  T.match(err, "inside boom")
end)

T.test("resuming a skynet-managed coroutine returns the documented error", function()
  local token = {}
  local th
  T.spawn(function()
    th = coroutine.running()
    skynet.wait(token)
  end)
  skynet.yield()
  T.eq(table.pack(coroutine.resume(th)), table.pack(false, "cannot resume none skynet coroutine"))
  skynet.wakeup(token)
end)

T.test("wrap works across blocking calls", function()
  local f = coroutine.wrap(function(a)
    skynet.sleep(1)
    local b = coroutine.yield(a + 1)
    skynet.yield()
    return b + 1
  end)
  T.eq(f(1), 2)
  T.eq(f(10), 11)
end)

T.test("thread(): the skynet root for a user coroutine, (co, true) for a skynet one", function()
  local me = coroutine.running()
  T.eq(table.pack(coroutine.thread()), table.pack(me, true))
  local co = coroutine.create(function()
    return coroutine.thread()
  end)
  T.eq(table.pack(coroutine.resume(co)), table.pack(true, me, false))
end)

T.test("skynet.coroutine.yield outside skynet.coroutine.resume is an error of the scheduler", function()
  local from = T.mark()
  skynet.fork(function() coroutine.yield("stray") end)
  skynet.yield()
  T.log("^%[" .. T.hex(skynet.self()) .. "%] lua call %[.*Call skynet%.coroutine%.yield out of skynet%.coroutine%.resume", from)
end)

T.start()
