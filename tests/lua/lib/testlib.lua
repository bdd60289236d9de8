-- testlib: the framework of the Lua test cases (tests/lua/cases/<topic>.lua).
--
-- A case is the node's start service. It registers named sub-tests and starts:
--
--   local skynet = require "skynet"
--   local T = require "testlib"
--   T.test("call returns the values", function()
--     T.eq(table.pack(skynet.call(h, "lua", "echo", 1, nil, 3)), table.pack(1, nil, 3))
--   end)
--   T.start()          -- or T.start { detached = true }, see below
--
-- Sub-tests run one after the other, each in its own skynet coroutine (a fork), so they
-- may call, sleep and wait. A sub-test fails when it raises (an assertion below or any
-- error) or when it has not finished after its deadline (T.test's third argument, in
-- ticks; default T.DEADLINE = 1000, i.e. 10 s): the case then goes on with the next
-- sub-test. Each sub-test logs `PASS <name>` or `FAIL <name>: <why>`. At the end the case
-- logs `TEST OK <case>` or `TEST FAIL <case>: <failed sub-tests>`, waits until the test
-- logger has printed that line (so it is not lost when the node goes down) and calls
-- skynet.abort(). The runner (tests/lua/run_case.cmake) wants exit status 0, a
-- `TEST OK` line and no `TEST FAIL` line.
--
-- T.start() runs the sub-tests inside the start function, so `newservice` of the case
-- (the bootstrap's) returns only at the end. T.start { detached = true } lets the start
-- function return first and runs the sub-tests in a fork (the boot case needs the
-- bootstrap's `KILL self`, which comes after the start function).
--
-- Assertions (all raise a test failure with the caller's file:line):
--   T.ok(v, what)                    v is truthy
--   T.eq(got, want, what)            deep equality (tables by content, n fields included)
--   T.match(s, pattern, what)        s is a string and string.find(s, pattern)
--   T.raises(pattern, f, ...)        f(...) raises an error whose text matches pattern;
--                                    returns the text. Match suffixes (`call failed$`):
--                                    the file:line prefix is the implementation's.
--   T.fail(msg)
--
-- Coroutines:
--   p = T.spawn(f, ...)              runs f(...) in a fork under pcall; p.done, p.result
--                                    (table.pack of pcall's results)
--   p:wait([ticks])                  waits until p is done (fails after ticks), returns p.result
--   p:value([ticks])                 waits, fails if f raised, returns f's results
--   p:err([ticks])                   waits, fails if f returned, returns the error text
--   p = T.blocks(ticks, f, ...)      spawns f and asserts it is still blocked after ticks
--                                    (only for "never returns" checks); returns p
--   T.eventually(cond, [ticks], what) polls cond() once a tick until truthy; fails after ticks
--   T.gone(h, [ticks])               waits until handle h is retired (sends to it fail)
--
-- Log lines. Every log line of the node goes to the test logger (tests/lua/services/
-- testlogger.lua), which keeps them numbered from 1 in arrival order, formatted exactly as
-- printed: `[:%08x] <text>` (source handle, 8 lowercase hex digits). Patterns are Lua
-- patterns matched against that whole line (anchor with ^ and $; ESC is "\27").
--   T.mark()                         number the next log line will get
--   T.log(pattern, [from], [ticks])  waits up to ticks (default T.DEADLINE / 2) for a line
--                                    numbered >= from (default 1) matching pattern; fails if
--                                    none; returns line, number
--   T.find_log(pattern, [from], [ticks]) same, but returns nil instead of failing
--   T.count_log(pattern, [from])     number of lines so far matching (no waiting)
--   T.no_log(pattern, [from])        no line so far matches; call T.sync (for own lines) or
--                                    wait for a later line of the emitting service first
--   T.lines([from], [to])            array of the lines numbered from..to (default: all)
--   T.sync()                         logs a unique line and waits until the logger has it:
--                                    every line this service logged before is then stored
--   T.line(handle, text)             the pattern `^%[:<handle>%] <text escaped>$`
--
-- The test logger's lua protocol (skynet.call(".logger", "lua", cmd, ...)):
--   "wait", pattern, ticks, from -> line, number | nil   first match >= from, waiting up to ticks
--   "mark"                       -> number of the next line
--   "lines", from, to            -> { line, ... }
--   "count", pattern, from       -> number of matching lines
--
-- Helpers: T.hex(h) -> ":%08x"; T.esc(s) escapes pattern magic characters; T.repr(v) a
-- readable form of a value (tables sorted, strings quoted, ESC shown as \27);
-- T.getenv(key) = skynet.getenv; T.INVALID = a local handle that never exists.

local skynet = require "skynet"
require "skynet.manager" -- skynet.abort

local T = {}

T.DEADLINE = 1000
T.INVALID = 0x00fffff0 -- harbor 0, far beyond any handle a test run allocates
local LOGGER = ".logger"

local case_name = skynet.getenv "test_case" or SERVICE_NAME or "?"
local tests = {}

-- Failures --------------------------------------------------------------------------------

local failure_mt = {
  __tostring = function(e)
    return e.where and (e.where .. ": " .. e.msg) or e.msg
  end,
}

-- The first stack frame that is not in this file.
local function caller_position()
  local self_src = debug.getinfo(1, "S").short_src
  for level = 2, 30 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.short_src ~= self_src and info.currentline > 0 then
      return info.short_src .. ":" .. info.currentline
    end
  end
end

function T.fail(msg)
  error(setmetatable({ msg = msg, where = caller_position() }, failure_mt), 0)
end

-- Values ------------------------------------------------------------------------------------

local function repr(v, depth)
  depth = depth or 0
  local tv = type(v)
  if tv == "string" then
    return (string.format("%q", v):gsub("\\\n", "\\n"):gsub("\27", "\\27"))
  elseif tv == "table" then
    if depth > 4 then return "{...}" end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b)
      local ta, tb = type(a), type(b)
      if ta ~= tb then return ta < tb end
      if ta == "number" or ta == "string" then return a < b end
      return tostring(a) < tostring(b)
    end)
    local parts = {}
    for _, k in ipairs(keys) do
      parts[#parts + 1] = "[" .. repr(k, depth + 1) .. "]=" .. repr(v[k], depth + 1)
    end
    return "{" .. table.concat(parts, ", ") .. "}"
  elseif tv == "number" then
    return math.type(v) == "float" and string.format("%.17g (float)", v) or tostring(v)
  else
    return tostring(v)
  end
end
T.repr = repr

local function deep_eq(a, b)
  if type(a) == "number" and type(b) == "number" then
    return (a == b or (a ~= a and b ~= b)) and math.type(a) == math.type(b)
  end
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not deep_eq(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

local function label(what)
  return what and (what .. ": ") or ""
end

function T.ok(v, what)
  if not v then T.fail(label(what) .. "expected a true value, got " .. repr(v)) end
  return v
end

function T.eq(got, want, what)
  -- integers and floats compare by value and subtype (1 ~= 1.0 here)
  if not deep_eq(got, want) then
    T.fail(label(what) .. "expected " .. repr(want) .. ", got " .. repr(got))
  end
  return got
end

function T.match(s, pattern, what)
  if type(s) ~= "string" or not string.find(s, pattern) then
    T.fail(label(what) .. "expected a string matching " .. repr(pattern) .. ", got " .. repr(s))
  end
  return s
end

function T.raises(pattern, f, ...)
  local r = table.pack(pcall(f, ...))
  if r[1] then
    T.fail("expected an error matching " .. repr(pattern) .. ", got success returning "
      .. repr(table.pack(table.unpack(r, 2, r.n))))
  end
  local err = r[2]
  if getmetatable(err) == failure_mt then error(err, 0) end -- an assertion inside f
  local text = tostring(err)
  if not string.find(text, pattern) then
    T.fail("expected an error matching " .. repr(pattern) .. ", got " .. repr(text))
  end
  return text
end

function T.esc(s)
  return (string.gsub(s, "[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

function T.hex(h)
  return string.format(":%08x", h)
end

function T.line(handle, text)
  return "^%[" .. T.hex(handle) .. "%] " .. T.esc(text) .. "$"
end

T.getenv = skynet.getenv

-- A loopback port nothing listens on now.
function T.free_port()
  local socket = require "skynet.socket"
  local id, _, port = socket.listen("127.0.0.1", 0)
  socket.close(id)
  return port
end

-- Coroutines --------------------------------------------------------------------------------

local promise = {}
promise.__index = promise

function T.spawn(f, ...)
  local p = setmetatable({ done = false }, promise)
  local args = table.pack(...)
  skynet.fork(function()
    p.result = table.pack(pcall(f, table.unpack(args, 1, args.n)))
    p.done = true
    if p.token then skynet.wakeup(p.token) end
  end)
  return p
end

function promise:wait(ticks)
  if not self.done then
    self.token = {}
    skynet.sleep(ticks or T.DEADLINE, self.token)
    self.token = nil
  end
  if not self.done then
    T.fail("still blocked after " .. (ticks or T.DEADLINE) .. " ticks")
  end
  return self.result
end

function promise:value(ticks)
  local r = self:wait(ticks)
  if not r[1] then T.fail("expected success, got error " .. repr(tostring(r[2]))) end
  return table.unpack(r, 2, r.n)
end

function promise:err(ticks)
  local r = self:wait(ticks)
  if r[1] then
    T.fail("expected an error, got success returning " .. repr(table.pack(table.unpack(r, 2, r.n))))
  end
  return tostring(r[2])
end

function T.blocks(ticks, f, ...)
  local p = T.spawn(f, ...)
  skynet.sleep(ticks)
  if p.done then
    local r = p.result
    T.fail("expected to stay blocked, but it " .. (r[1] and "returned " or "raised ")
      .. repr(table.pack(table.unpack(r, 2, r.n))))
  end
  return p
end

-- Waits until h is no longer a valid handle (a send to it returns nil). A service calling
-- skynet.exit() answers its callers before it retires, so a test that wants the handle gone
-- waits for that. The probe is an empty PTYPE_ERROR without session ("this tester abandoned
-- its calls to you"): silent, and meant only for services on their way out.
function T.gone(h, ticks)
  T.eventually(function()
    return skynet.rawsend(h, "error", "") == nil
  end, ticks, T.hex(h) .. " retired")
end

function T.eventually(cond, ticks, what)
  ticks = ticks or T.DEADLINE
  local deadline = skynet.now() + ticks
  while true do
    local v = cond()
    if v then return v end
    if skynet.now() >= deadline then
      T.fail(label(what) .. "condition still false after " .. ticks .. " ticks")
    end
    skynet.sleep(1)
  end
end

-- Log lines ---------------------------------------------------------------------------------

function T.mark()
  return skynet.call(LOGGER, "lua", "mark")
end

function T.find_log(pattern, from, ticks)
  return skynet.call(LOGGER, "lua", "wait", pattern, ticks or T.DEADLINE // 2, from or 1)
end

function T.log(pattern, from, ticks)
  local line, n = T.find_log(pattern, from, ticks)
  if not line then
    T.fail("no log line matching " .. repr(pattern) .. " (from line " .. (from or 1) .. ")")
  end
  return line, n
end

function T.count_log(pattern, from)
  return skynet.call(LOGGER, "lua", "count", pattern, from or 1)
end

function T.no_log(pattern, from)
  local line = skynet.call(LOGGER, "lua", "wait", pattern, 0, from or 1)
  if line then T.fail("unexpected log line " .. repr(line)) end
end

function T.lines(from, to)
  return skynet.call(LOGGER, "lua", "lines", from or 1, to)
end

local sync_count = 0
function T.sync()
  sync_count = sync_count + 1
  local text = string.format("testlib sync %d", sync_count)
  local from = T.mark()
  skynet.error(text)
  T.log(T.line(skynet.self(), text), from)
end

-- Running -----------------------------------------------------------------------------------

function T.test(name, f, ticks)
  tests[#tests + 1] = { name = name, f = f, ticks = ticks or T.DEADLINE }
end

local function one_line(s)
  return (string.gsub(s, "\n", " | "))
end

local function run_one(t)
  local state = { token = {} }
  skynet.fork(function()
    local ok, err = xpcall(t.f, function(e)
      if getmetatable(e) == failure_mt then return tostring(e) end
      return debug.traceback(tostring(e), 2)
    end)
    state.done, state.ok, state.err = true, ok, err
    skynet.wakeup(state.token)
  end)
  skynet.sleep(t.ticks, state.token)
  if not state.done then
    return false, "timed out: still running after " .. t.ticks .. " ticks"
  end
  return state.ok, state.err
end

local function finish(failed)
  local verdict
  if #failed == 0 then
    verdict = "TEST OK " .. case_name
  else
    verdict = "TEST FAIL " .. case_name .. ": " .. #failed .. " of " .. #tests
      .. " sub-tests failed: " .. table.concat(failed, ", ")
  end
  local from = T.mark()
  skynet.error(verdict)
  -- The verdict must reach stdout before abort retires the logger.
  local ok, seen = pcall(skynet.call, LOGGER, "lua", "wait", "^%[:%x+%] " .. T.esc(verdict) .. "$", 500, from)
  if not (ok and seen) then print(verdict) end
  -- Peers of a multi-node case (nodes.lua) never outlive it.
  local nodes = package.loaded.nodes
  if nodes then nodes.kill_all() end
  skynet.abort()
end

local function run_all()
  local failed = {}
  skynet.error(string.format("testlib: case %s, %d sub-tests", case_name, #tests))
  for _, t in ipairs(tests) do
    local ok, err = run_one(t)
    if ok then
      skynet.error("PASS " .. t.name)
    else
      failed[#failed + 1] = t.name
      skynet.error("FAIL " .. t.name .. ": " .. one_line(tostring(err)))
    end
  end
  finish(failed)
end

function T.start(opts)
  skynet.start(function()
    if opts and opts.detached then
      if opts.before then opts.before() end
      skynet.fork(run_all)
    else
      run_all()
    end
  end)
end

return T
