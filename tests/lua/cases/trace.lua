-- Per-call tracing: skynet.trace, tracetag, tracelog, traceproto, tracecall, trace_timeout,
-- the trace events of a traced coroutine and the tag sent ahead of a call (PTYPE_TRACE).
-- The debug command TRACELOG too (docs/LUA.md, "Tracing").
local skynet = require "skynet"
local core = require "skynet.core"
local T = require "testlib"

local function new() return skynet.newservice("tracesvc") end

-- The trace lines of `h` under `tag` from line `from` on, without the hpc field (which must
-- not decrease). Waits first for `last` (an event text) of h under tag.
local function events(h, tag, from, last)
  local head = "^%[" .. T.hex(h) .. "%] <TRACE " .. T.esc(tag) .. "> "
  if last then T.log(head .. "%d+ " .. T.esc(last) .. "$", from) end
  local out, previous = {}, 0
  for _, line in ipairs(T.lines(from)) do
    local hpc, text = line:match(head .. "(%d+) (.*)$")
    if hpc then
      T.ok(tonumber(hpc) >= previous, "hpc does not decrease: " .. line)
      previous = tonumber(hpc)
      out[#out + 1] = text
    end
  end
  return out
end

-- Event names only: "call : <positions>" -> "call".
local function names(list)
  local out = {}
  for i, text in ipairs(list) do out[i] = text:match "^(.-) : " or text end
  return out
end

-- Waits until every line `h` logged before is in the log.
local function barrier(h)
  local text = "barrier " .. skynet.now() .. " " .. math.random(1 << 30)
  skynet.call(h, "lua", "mark", text)
  T.log(T.line(h, text))
end

T.test("skynet.trace: TRACE nil, then tag :<self>-<n> and the trace line; response and end", function()
  local a = new()
  local from = T.mark()
  local tag = skynet.call(a, "lua", "trace", "hello")
  T.eq(tag, T.hex(a) .. "-1")
  local _, nil_at = T.log(T.line(a, "TRACE nil"), from)
  local _, trace_at = T.log("^%[" .. T.hex(a) .. "%] <TRACE " .. T.esc(tag) .. "> %d+ trace hello$", from)
  T.ok(nil_at < trace_at, "TRACE nil comes first")
  T.eq(events(a, tag, from, "end"), { "trace hello", "response", "end" })
  local second = skynet.call(a, "lua", "trace")
  T.eq(second, T.hex(a) .. "-2", "the counter is per service")
  T.eq(events(a, second, from, "end"), { "trace", "response", "end" }, "no info: just trace")
end)

T.test("skynet.trace again in a traced coroutine: the TRACE line shows the old tag", function()
  local a = new()
  local from = T.mark()
  local first, second = skynet.call(a, "lua", "retrace")
  T.eq(first, T.hex(a) .. "-1")
  T.eq(second, T.hex(a) .. "-2")
  T.eq(events(a, second, from, "end"), { "trace two", "response", "end" })
  T.eq(events(a, first, from), { "trace one" })
  T.log(T.line(a, "TRACE " .. first), from)
end)

T.test("a traced call: call with positions, the tag sent ahead, the callee's request carries it", function()
  local a, b = new(), new()
  local from = T.mark()
  local tag, theirs = skynet.call(a, "lua", "call", b, "tag")
  T.eq(theirs, tag, "the callee's tracetag")
  local mine = events(a, tag, from, "end")
  T.eq(names(mine), { "trace", "call", "resume", "sleep", "resume", "response", "end" })
  T.match(mine[2], "^call : [^ ]-tracesvc%.lua:%d+")
  T.match(mine[4], "^sleep : [^ ]-tracesvc%.lua:%d+")
  for _, text in ipairs { mine[2], mine[4] } do
    local n = select(2, text:gsub("[^ ]+:%d+", ""))
    T.ok(n >= 1 and n <= 3, "one to three positions: " .. text)
  end
  T.eq(events(b, tag, from, "end"), { "request", "response", "end" })
end)

T.test("the tag travels on: a request that came with a tag passes it to its own calls", function()
  local a, b, c = new(), new(), new()
  local from = T.mark()
  local tag, relayed = skynet.call(a, "lua", "call", b, "relay", c, "tag")
  T.eq(relayed, tag, "b's tracetag")
  T.eq(names(events(b, tag, from, "end")), { "request", "call", "resume", "response", "end" })
  T.eq(events(c, tag, from, "end"), { "request", "response", "end" })
end)

T.test("wait and wakeup: sleep, then resume", function()
  local a = new()
  local from = T.mark()
  local p = T.spawn(skynet.call, a, "lua", "hold")
  T.log("^%[" .. T.hex(a) .. "%] <TRACE [^>]+> %d+ sleep : ", from)
  T.eq(skynet.call(a, "lua", "release"), true)
  local tag = p:value()
  T.eq(names(events(a, tag, from, "end")), { "trace", "sleep", "resume", "response", "end" })
end)

T.test("a traced handler raising: error, no end; the caller gets call failed", function()
  local a = new()
  local from = T.mark()
  T.raises("call failed$", skynet.call, a, "lua", "raise")
  local tag = T.hex(a) .. "-1"
  T.eq(events(a, tag, from, "error"), { "trace", "error" })
  barrier(a)
  T.eq(events(a, tag, from), { "trace", "error" })
end)

T.test("untraced requests and calls log no trace lines", function()
  local a, b = new(), new()
  local from = T.mark()
  T.eq(table.pack(skynet.call(a, "lua", "relay", b, "tag")), table.pack(nil, nil))
  barrier(a)
  barrier(b)
  T.eq(T.count_log("<TRACE ", from), 0)
  T.eq(skynet.tracetag(), nil, "the case's own coroutine")
end)

T.test("a fork of a traced coroutine carries no tag", function()
  local a = new()
  local tag, forked = skynet.call(a, "lua", "fork_tag")
  T.eq(tag, T.hex(a) .. "-1")
  T.eq(forked, nil)
end)

T.test("a user coroutine shares the tag of the skynet coroutine that resumes it", function()
  local p = T.spawn(function()
    skynet.trace()
    local co = coroutine.create(function() return skynet.tracetag() end)
    return skynet.tracetag(), select(2, coroutine.resume(co))
  end)
  local tag, inner = p:value()
  T.match(tag, "^" .. T.esc(T.hex(skynet.self())) .. "%-%d+$")
  T.eq(inner, tag)
end)

T.test("traceproto: true traces every request; false drops incoming tags; nil is the default", function()
  local a, b = new(), new()
  skynet.call(b, "lua", "traceproto", "lua", true)
  local from = T.mark()
  local tag = skynet.call(b, "lua", "tag")
  T.eq(tag, T.hex(b) .. "-1")
  T.log(T.line(b, "TRACE nil"), from)
  T.eq(events(b, tag, from, "end"), { "trace", "response", "end" })

  skynet.call(b, "lua", "traceproto", skynet.PTYPE_LUA, false) -- by id
  from = T.mark()
  local atag, btag = skynet.call(a, "lua", "call", b, "tag")
  T.eq(btag, false, "forced off")
  T.eq(skynet.call(b, "lua", "trace"), false, "skynet.trace does nothing")
  T.log(T.line(b, "TRACE false"), from)
  barrier(b)
  T.eq(events(b, atag, from), {}, "the tag was dropped")
  T.eq(names(events(a, atag, from, "end")), { "trace", "call", "resume", "sleep", "resume", "response", "end" })

  skynet.call(b, "lua", "traceproto", "lua", nil)
  T.eq(skynet.call(b, "lua", "tag"), nil, "default: untraced")
  T.raises("unknown protocol", skynet.traceproto, "nonexistent", true)
end)

T.test("debug TRACELOG switches a protocol's tracing", function()
  local b = new()
  skynet.call(b, "debug", "TRACELOG", "lua", true)
  local tag = skynet.call(b, "lua", "tag")
  T.eq(tag, T.hex(b) .. "-1")
  skynet.call(b, "debug", "TRACELOG", false)
  T.eq(skynet.call(b, "lua", "tag"), false)
  skynet.call(b, "debug", "TRACELOG", "lua", nil)
  T.eq(skynet.call(b, "lua", "tag"), nil)
end)

T.test("register_protocol with trace = true: every request of it starts a trace", function()
  skynet.register_protocol { name = "traced", id = 200, pack = skynet.pack, unpack = skynet.unpack }
  local a = new()
  local from = T.mark()
  local tag = skynet.call(a, "traced")
  T.eq(tag, T.hex(a) .. "-1")
  T.eq(events(a, tag, from, "end"), { "trace", "response", "end" })
end)

T.test("a PTYPE_TRACE message tags the next request from the same source only", function()
  local a, b = new(), new()
  local from = T.mark()
  core.send(b, skynet.PTYPE_TRACE, 0, "manual")
  T.eq(skynet.call(b, "lua", "tag"), "manual")
  T.eq(events(b, "manual", from, "end"), { "request", "response", "end" })
  T.eq(skynet.call(b, "lua", "tag"), nil, "used once")
  core.send(b, skynet.PTYPE_TRACE, 0, "ours")
  T.eq(table.pack(skynet.call(a, "lua", "relay", b, "tag")), table.pack(nil, nil), "not for a's request")
  T.eq(skynet.call(b, "lua", "tag"), "ours")
end)

T.test("tracelog: the raw line; positions with a level or a coroutine; skynet.core.trace", function()
  local from = T.mark()
  skynet.tracelog("raw", "plain")
  skynet.tracelog("raw", "here", 1) local here = debug.getinfo(1, "l").currentline
  local co = coroutine.create(function()
    coroutine.yield() return debug.getinfo(1, "l").currentline
  end)
  coroutine.resume(co)
  skynet.tracelog("raw", "in co", co)
  local _, co_line = coroutine.resume(co)
  core.trace("raw", "core")
  local got = events(skynet.self(), "raw", from, "core")
  T.eq(#got, 4)
  T.eq(got[1], "plain")
  T.eq(tonumber(got[2]:match "^here : [^ ]-trace%.lua:(%d+)"), here)
  T.match(got[3], "^in co : [^ ]-trace%.lua:" .. co_line .. "$")
  T.eq(got[4], "core")
end)

T.test("tracecall: begin and end under the explicit tag; the callee's request carries it", function()
  local b = new()
  local from = T.mark()
  local msg, sz = skynet.tracecall("explicit", b, "lua", skynet.pack("tag"))
  T.eq(skynet.unpack(msg, sz), "explicit")
  T.eq(events(skynet.self(), "explicit", from, "tracecall end"), { "tracecall begin", "tracecall end" })
  T.eq(events(b, "explicit", from, "end"), { "request", "response", "end" })
  T.raises("call to invalid address", skynet.tracecall, "x", T.INVALID, "lua", skynet.packstring("tag"))
end)

T.test("trace_timeout: skynet.task shows where a pending timer was created", function()
  skynet.trace_timeout(true)
  local co = skynet.timeout(100000, function() end) local line = debug.getinfo(1, "l").currentline
  local running = false
  local started = skynet.timeout(0, function()
    running = true
    skynet.wait()
  end)
  local function task_of(c)
    local tasks = {}
    skynet.task(tasks)
    for key, value in pairs(tasks) do
      if key:find(tostring(c) .. " session:", 1, true) then return value end
    end
  end
  T.eventually(function() return running end, nil, "the timeout(0) function runs and waits")
  T.match(task_of(co), "^TIMER %d+%+100000 : \nstack traceback:\n.-trace%.lua:" .. line .. ":")
  T.match(task_of(started), "^stack traceback:")
  skynet.trace_timeout(false)
  T.match(task_of(co), "^stack traceback:")
  skynet.killthread(co)
  skynet.wakeup(started)
end)

T.start()
