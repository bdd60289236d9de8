-- skynet.socketchannel's infinite retry loop (docs/SOCKETCHANNEL.md, Connecting): connect() without once
-- and response(). The back-off is checked through the sleeps the loop asks for
-- (skynet.sleep is intercepted for the connecting coroutine only), so the full cycle with the
-- 11 s sleep takes no time; one test lets the real sleeps run for the first three attempts.
local skynet = require "skynet"
local sc = require "skynet.socketchannel"
local T = require "testlib"
local H = require "sctest"

local HOST = "127.0.0.1"
local real_sleep = skynet.sleep

-- Runs f in a fork whose skynet.sleep calls go to on_sleep(ticks, index) (which may sleep for
-- real by calling real_sleep) and are recorded. Returns the promise and the recorded sleeps.
local function with_sleeps(on_sleep, f, ...)
  local sleeps = {}
  local target
  skynet.sleep = function(ticks, token)
    if coroutine.running() ~= target then return real_sleep(ticks, token) end
    sleeps[#sleeps + 1] = ticks
    return on_sleep(ticks, #sleeps)
  end
  local args = table.pack(...)
  local p = T.spawn(function()
    target = coroutine.running()
    return f(table.unpack(args, 1, args.n))
  end)
  return p, sleeps
end

local function restore()
  skynet.sleep = real_sleep
end

local function backoff_lines(from)
  return H.my_lines(from, "^socket: ")
end

T.test("connect() retries with sleeps 0..1000, try to reconnect + 1100, then 100 again", function()
  local port = H.refused_port()
  local ch = sc.channel { host = HOST, port = port }
  local from = T.mark()
  local p, sleeps = with_sleeps(function(_, n)
    if n == 14 then H.listen { port = port } end -- the 15th attempt finds a listener
    return real_sleep(0)
  end, ch.connect, ch)
  local ok, r = pcall(p.value, p, 2000)
  restore()
  assert(ok, r)
  T.eq(r, true, "connect() returns true")
  T.eq(sleeps, { 0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 100, 200 })
  local refused = "socket: connect Connection refused"
  local want = {}
  for _ = 1, 12 do want[#want + 1] = refused end
  want[#want + 1] = "socket: try to reconnect 127.0.0.1 " .. port
  want[#want + 1] = refused
  want[#want + 1] = refused
  want[#want + 1] = "socket: connect to 127.0.0.1 " .. port
  T.eq(backoff_lines(from), want)
  T.eq(#H.my_lines(from, "^Connect failed"), 0)
  T.eq(ch:request("echo up\n", H.line), "up")
  ch:close()
end)

T.test("the real back-off: attempts at 0, 0, 1 and 3 s", function()
  local port = H.refused_port()
  local ch = sc.channel { host = HOST, port = port }
  local started = skynet.now()
  local p, sleeps = with_sleeps(function(ticks, n)
    if n == 3 then H.listen { port = port } end -- the 4th attempt finds a listener
    return real_sleep(ticks)
  end, ch.connect, ch)
  local ok, r = pcall(p.value, p, 2000)
  restore()
  assert(ok, r)
  T.eq(r, true)
  T.eq(sleeps, { 0, 100, 200 })
  local elapsed = skynet.now() - started
  T.ok(elapsed >= 300, "connected after " .. elapsed .. " ticks, no earlier than 3 s")
  ch:close()
end)

T.test("request() makes one pass and never sleeps; requests wait for a connect() in progress", function()
  local port = H.refused_port()
  local ch = sc.channel { host = HOST, port = port }
  local p, sleeps = with_sleeps(function() return real_sleep(0) end, function()
    local ok, e = pcall(ch.request, ch, "echo x\n", H.line)
    return ok, rawequal(e, sc.error)
  end)
  local ok, r = pcall(function() return table.pack(p:value()) end)
  restore()
  assert(ok, r)
  T.eq({ r[1], r[2] }, { false, true }, "sc.error at once")
  T.eq(sleeps, {})

  local waiting
  local connecting = with_sleeps(function(_, n)
    if n == 2 then
      waiting = T.spawn(ch.request, ch, "echo waited\n", H.line)
    elseif n == 3 then
      T.eq(waiting.done, false, "the request waits for the retrying connect")
      H.listen { port = port }
    end
    return real_sleep(0)
  end, ch.connect, ch)
  ok, r = pcall(connecting.value, connecting, 2000)
  restore()
  assert(ok, r)
  T.eq(r, true)
  T.eq(waiting:value(), "waited")
  ch:close()
end)

T.test("response() retries until connected, then waits for a reply", function()
  local port = H.refused_port()
  local ch = sc.channel { host = HOST, port = port }
  local from = T.mark()
  local p, sleeps = with_sleeps(function(_, n)
    if n == 2 then H.listen { port = port, greeting = "hello" } end
    return real_sleep(0)
  end, ch.response, ch, H.line)
  local ok, r = pcall(p.value, p, 2000)
  restore()
  assert(ok, r)
  T.eq(r, "hello")
  T.eq(sleeps, { 0, 100 })
  T.eq(backoff_lines(from)[3], "socket: connect to 127.0.0.1 " .. port)
  ch:close()
end)

T.test("close() ends the retry loop at once, even during a sleep", function()
  local port = H.refused_port()
  local ch = sc.channel { host = HOST, port = port }
  local from = T.mark()
  local p = T.spawn(ch.connect, ch)
  local pattern = T.line(skynet.self(), "socket: connect Connection refused")
  T.eventually(function() return T.count_log(pattern, from) == 3 end, nil, "3 attempts")
  -- the loop sleeps 2 s now
  ch:close()
  T.eq(p:value(50), false, "connect() returns false")
  T.eq(T.count_log(pattern, from), 3, "no more attempts")
  T.raises("socketchannel%.lua:%d+: assertion failed!$", ch.request, ch, "echo x\n", H.line)
end)

T.start()
