-- Service lifecycle: newservice and the start function, init functions, skynet.exit.
-- docs/TESTING.md: Lua API checklist items 1-7, core checklist items 22-24.
local skynet = require "skynet"
local T = require "testlib"

-- The handle of the last service launched as `snlua <name>` since line `from`.
local function launched(name, from)
  local line = T.log("^%[:(%x+)%] LAUNCH snlua " .. T.esc(name) .. "$", from)
  return tonumber(line:match "^%[:(%x+)%]", 16)
end

T.test("newservice returns only after the start function, which may sleep 1 s", function()
  local t0 = skynet.now()
  local h = skynet.newservice("slowstart", 100)
  local elapsed = skynet.now() - t0
  T.ok(elapsed >= 99, "newservice returned after " .. elapsed .. " ticks, before the start function's sleep(100)")
  T.eq(skynet.call(h, "lua", "started"), true, "start function finished")
end)

T.test("start function raising: init service failed, KILL self, newservice raises", function()
  local from = T.mark()
  T.raises("call failed$", skynet.newservice, "startfail")
  local h = launched("startfail", from)
  local _, failed_at = T.log("^%[" .. T.hex(h) .. "%] init service failed: .*startfail: boom in start", from)
  local _, kill_at = T.log(T.line(h, "KILL self"), from)
  T.ok(failed_at < kill_at, "init service failed is logged before KILL self")
end)

T.test("main chunk raising: lua loader error, newservice raises", function()
  local from = T.mark()
  T.raises("call failed$", skynet.newservice, "mainfail")
  local h = launched("mainfail", from)
  T.log("^%[" .. T.hex(h) .. "%] lua loader error : .*mainfail: boom in main chunk", from)
  T.log(T.line(h, "KILL self"), from)
end)

T.test("skynet.exit() inside the start function: newservice returns nil", function()
  local from = T.mark()
  local r = table.pack(skynet.newservice("startexit"))
  T.eq(r[1], nil, "newservice result")
  local h = launched("startexit", from)
  T.log(T.line(h, "KILL self"), from)
  T.gone(h)
  T.raises("call to invalid address " .. T.esc(T.hex(h)) .. "$", skynet.call, h, "lua", "x")
end)

T.test("a service that never calls skynet.start: newservice blocks", function()
  local from = T.mark()
  T.blocks(100, skynet.newservice, "nostart")
  local h = launched("nostart", from)
  T.log(T.line(h, "nostart: main chunk ran"), from)
end)

T.test("skynet.init functions run in order before the start function", function()
  local h = skynet.newservice("initorder")
  T.eq(skynet.call(h, "lua", "order"), {
    "main chunk", "module body", "main chunk end",
    "init 1", "init 2 (module)", "init 3", "start",
  })
end)

T.test("skynet.init needs a function", function()
  T.raises(".", skynet.init, 42)
end)

T.test("skynet.exit: no code after it, queued forks dropped, callers fail, to-be-closed run", function()
  local h = skynet.newservice("exiter")
  skynet.call(h, "lua", "prepare") -- a coroutine suspended with a to-be-closed variable
  local held = T.spawn(skynet.call, h, "lua", "hold")
  local deferred = T.spawn(skynet.call, h, "lua", "defer")
  skynet.yield() -- the spawned calls are sent now, before exit_now
  local from = T.mark()
  T.raises("call failed$", skynet.call, h, "lua", "exit_now")
  T.match(held:err(), "call failed$", "request suspended in a handler")
  T.match(deferred:err(), "call failed$", "request with an unanswered response closure")
  local _, closed_at = T.log(T.line(h, "exiter: closed"), from)
  local _, kill_at = T.log(T.line(h, "KILL self"), from)
  T.ok(closed_at < kill_at, "to-be-closed variables run before the service retires")
  T.gone(h)
  skynet.sleep(20) -- give a wrongly scheduled fork or statement time to log
  T.no_log("exiter: fork ran", from)
  T.no_log("exiter: after exit", from)
  T.raises("call to invalid address " .. T.esc(T.hex(h)) .. "$", skynet.call, h, "lua", "hold")
end)

T.test("skynet.exit in the start function closes every coroutine's to-be-closed variables", function()
  local from = T.mark()
  T.eq(skynet.newservice "closer", nil, "the start function exited")
  for _, where in ipairs { "fork raising", "handler waiting", "handler raising", "fork waiting",
    "fork calling", "start function" } do
    T.log("closer: closed " .. where .. "$", from)
  end
  T.log("KILL self", from)
  skynet.sleep(20) -- a fork that never ran would log by now
  T.no_log("closer: closed fork never run", from)
end)

T.test("skynet.exit from a request handler: the caller gets call failed", function()
  local h = skynet.newservice("echo")
  local from = T.mark()
  T.raises("call failed$", skynet.call, h, "lua", "exit")
  T.log(T.line(h, "KILL self"), from)
  T.gone(h)
  T.eq(skynet.send(h, "lua", "echo"), nil, "send to the exited service")
end)

T.start()
