-- Snax services (the snax checklist of docs/TESTING.md; item 1 is
-- tests/lua/cases/snax_noconfig.lua). The snax files are tests/lua/snax/*.lua; run_case.cmake
-- sets `snax` to that directory, then the scratch directory's snax/ (files written by the
-- tests).
local skynet = require "skynet"
require "skynet.manager"
local snax = require "skynet.snax"
local parse = require "snax.interface"
local T = require "testlib"

local function launcher_list()
  return skynet.call(".launcher", "lua", "LIST")
end

local function write_snax(name, text)
  local f = assert(io.open(T.getenv "test_tmp" .. "/snax/" .. name .. ".lua", "w"))
  f:write(text)
  f:close()
end

T.test("unknown snax name: the error lists every tried path", function()
  local err = T.raises("nosuch", snax.newservice, "nosuch")
  local src, tmp = T.getenv "test_src", T.getenv "test_tmp"
  T.ok(err:find(src .. "/snax/nosuch.lua", 1, true), "first template in " .. err)
  T.ok(err:find(tmp .. "/snax/nosuch.lua", 1, true), "second template in " .. err)
  T.eq(select(2, err:gsub("\n", "\n")), 1, "one line per template")
end)

T.test("method ids: 5, 6, 7 in declaration order on the client and the server; system 1..4", function()
  local t = snax.interface "order"
  T.eq(t.response, { a = 5, c = 7 }, "response")
  T.eq(t.accept, { b = 6 }, "accept")
  T.eq(t.system, { init = 1, exit = 2, hotfix = 3, profile = 4 }, "system")
  T.eq(t.name, "order")
  local obj = snax.newservice "order"
  T.eq(table.pack(skynet.call(obj.handle, "snax", 5)), table.pack("a", 5), "server id 5 is a")
  T.eq(table.pack(skynet.call(obj.handle, "snax", 7)), table.pack("c", 7), "server id 7 is c")
  T.eq(table.pack(obj.req.c()), table.pack("c", 7), "req.c")
  snax.kill(obj)
end)

T.test("declaration errors: duplicate, non-function, non-string key, non-function init", function()
  -- the chunk's error comes with a traceback
  T.raises("dup%.lua:3: response%.twice duplicate definition\nstack traceback", snax.interface, "dup")
  T.raises("notfunc%.lua:2: accept%.value must be function\nstack traceback", snax.interface, "notfunc")
  T.raises("numkey%.lua:2: response method only support string\nstack traceback", snax.interface, "numkey")
  T.raises("badinit%.lua:2: init must be a function\nstack traceback", snax.interface, "badinit")
  local from = T.mark()
  -- snaxd parses the same file in its main chunk: the launch fails
  T.raises(".", skynet.newservice, "snaxd", "dup")
  T.log("duplicate definition", from)
end)

T.test("the client parses with only require visible, which returns nil", function()
  write_snax("clientenv", [[
local probe = require "skynet"
seen_require, seen_probe, seen_string = require, probe, string
function response.seen()
  return type(seen_require), type(seen_probe), type(seen_string)
end
]])
  local G = { require = function() end }
  local methods = parse("clientenv", G)
  T.eq(type(G.seen_require), "function", "globals of the file are copied into G afterwards")
  T.eq(G.seen_probe, nil, "require returned nil")
  T.eq(G.seen_string, nil, "no standard library")
  T.eq(getmetatable(G), nil, "special behaviour removed")
  T.eq(G.accept, nil, "accept is not a global any more")
  T.eq(methods[5][3], "seen")
  local obj = snax.newservice "clientenv"
  T.eq(table.pack(obj.req.seen()), table.pack("function", "table", "table"), "the server's real globals")
  snax.kill(obj)
  -- a known pitfall of snax files: top-level code using the standard library
  T.raises("global 'string'", snax.interface, "toplevel")
end)

T.test("newservice runs init(args) before returning; each call is a new instance", function()
  local from = T.mark()
  local a = snax.newservice("worker", "x", 1, nil, true)
  T.eq(table.pack(a.req.init_args()), table.pack("x", 1, nil, true), "init arguments")
  T.log(T.line(a.handle, "worker init x 1 nil true"), from)
  local b = snax.newservice("worker")
  T.ok(a.handle ~= b.handle, "a second instance")
  local list = launcher_list()
  T.eq(list[T.hex(a.handle)], "snlua snaxd worker")
  T.eq(list[T.hex(b.handle)], "snlua snaxd worker")
  snax.kill(a)
  snax.kill(b)
end)

T.test("uniqueservice returns the same handle; queryservice waits for it", function()
  local waiting = T.blocks(30, snax.queryservice, "worker")
  local u = snax.uniqueservice("worker", "unique")
  T.eq(snax.uniqueservice("worker", "ignored").handle, u.handle, "second uniqueservice")
  T.eq(waiting:value().handle, u.handle, "queryservice")
  T.eq(u.req.init_args(), "unique", "the first caller's arguments")
  T.eq(snax.queryservice("worker"), u, "bound objects are cached per handle")
  T.eq(skynet.call(".service", "lua", "LIST")["snaxd.worker"], T.hex(u.handle), "service_mgr key")
  local g = snax.globalservice("worker", "global")
  T.ok(g.handle ~= u.handle, "globalservice is another key")
  T.eq(snax.queryglobal("worker").handle, g.handle, "queryglobal")
end)

T.test("req returns every result; post returns nothing and runs; unknown names raise", function()
  local w = snax.newservice "worker"
  T.eq(table.pack(w.req.echo(1, nil, "three", nil)), table.pack(1, nil, "three", nil), "req with nils")
  T.eq(select("#", w.req.echo()), 0, "no results")
  T.eq(select("#", w.post.put("k", "v")), 0, "post returns nothing")
  T.eq(w.req.get("k"), "v", "the accept method ran")
  T.raises("post worker:nosuch no exist$", function() return w.post.nosuch end)
  T.raises("request worker:nosuch no exist$", function() return w.req.nosuch end)
  T.raises("request worker:put no exist$", function() return w.req.put end)
  T.raises("post worker:get no exist$", function() return w.post.get end)
  snax.kill(w)
end)

T.test("a raising response method: call failed, the service goes on, the failure is counted", function()
  local w = snax.newservice "worker"
  local from = T.mark()
  T.raises("call failed$", w.req.raise, "boom")
  T.log("boom", from)
  T.eq(w.req.echo("still"), "still", "works afterwards")
  T.eq(snax.profile_info(w).raise.count, 1, "profile count of the failed call")
  snax.kill(w)
end)

T.test("calls before init fail; a second init fails with Already init", function()
  local h = skynet.newservice("snaxd", "worker")
  local from = T.mark()
  T.raises("call failed$", skynet.call, h, "snax", snax.interface("worker").response.echo, 1)
  T.log("Init first", from)
  from = T.mark()
  skynet.send(h, "snax", snax.interface("worker").accept.put, "k", "v")
  T.log("Init first", from)
  skynet.call(h, "snax", 1, "late")
  from = T.mark()
  T.raises("call failed$", skynet.call, h, "snax", 1)
  T.log("Already init", from)
  T.raises("call failed$", skynet.call, h, "snax", 99)
  local w = snax.bind(h, "worker")
  T.eq(w.req.init_args(), "late")
  T.eq(w.req.get("k"), nil, "the early post did not run")
  snax.kill(w)
end)

T.test("a raising init: the launcher gets call failed, the service stays alive uninitialised", function()
  local from = T.mark()
  T.raises("call failed$", snax.newservice, "initfail")
  T.log("init refused", from)
  local h
  for addr, what in pairs(launcher_list()) do
    if what == "snlua snaxd initfail" then h = tonumber(addr:sub(2), 16) end
  end
  T.ok(h, "still listed")
  T.raises("call failed$", skynet.call, h, "snax", snax.interface("initfail").response.ping)
  skynet.kill(h)
end)

T.test("kill runs exit(args), then the handle is dead", function()
  local w = snax.newservice "worker"
  local from = T.mark()
  snax.kill(w, "bye", 2)
  T.log(T.line(w.handle, "worker exit bye 2"), from)
  T.gone(w.handle)
  T.raises("call to invalid address " .. T.esc(T.hex(w.handle)) .. "$", w.req.echo, 1)
end)

T.test("snax.exit from inside an accept method terminates the service", function()
  local w = snax.newservice "worker"
  local from = T.mark()
  w.post.quit()
  T.log(T.line(w.handle, "worker exit from quit"), from)
  T.gone(w.handle)
  T.no_log("worker after snax.exit", from)
end)

T.test("hotfix: replace a method, share a local, return values, Patch mismatch", function()
  local w = snax.newservice "worker"
  T.eq(w.req.bump(), 1)
  T.eq(w.req.bump(), 2)
  local old = snax.hotfix(w, [[
local count
local step = 10
function response.bump()
  count = count + step
  return count, "patched"
end
function hotfix(value)
  local before = count
  count = value
  return before, "fixed"
end
]], 100)
  T.eq(old, 2, "hotfix returns the shared local as it was")
  T.eq(table.pack(w.req.bump()), table.pack(110, "patched"), "the new method, the shared local")
  T.eq(w.req.echo("other"), "other", "other methods untouched")
  T.raises("Patch mismatch response%.nosuch$", snax.hotfix, w, "function response.nosuch() end")
  T.raises("Patch mismatch accept%.bump$", snax.hotfix, w, "function accept.bump() end")
  T.eq(w.req.bump(), 120, "a failed patch changes nothing")
  T.eq(table.pack(snax.hotfix(w, "")), table.pack(), "a patch without hotfix returns nothing")
  T.raises("boom$", snax.hotfix, w, "function hotfix() error('boom', 0) end")
  snax.kill(w)
end)

T.test("debug INFO returns the profile table with count and time per method", function()
  local w = snax.newservice "worker"
  T.eq(skynet.call(w.handle, "debug", "INFO"), {}, "nothing called yet")
  w.req.echo(1)
  w.req.echo(2)
  w.req.spin(30)
  w.req.slow(50)
  local info = skynet.call(w.handle, "debug", "INFO")
  T.eq(info.echo.count, 2, "echo count")
  T.eq(type(info.echo.time), "number", "echo time")
  T.ok(info.spin.time > 0, "spin time counts CPU time: " .. info.spin.time)
  T.ok(info.slow.time < 0.25, "slow time excludes the 0.5 s sleep: " .. info.slow.time)
  T.eq(snax.profile_info(w), info, "profile_info")
  snax.kill(w)
end)

T.test("tostring of an object is [name:hex]; self, SERVICE_NAME, SERVICE_PATH", function()
  local w = snax.newservice "worker"
  T.eq(tostring(w), string.format("[worker:%x]", w.handle))
  local text, name, path = w.req.self()
  T.eq(text, tostring(w), "snax.self() in the service")
  T.eq(name, "worker")
  T.eq(path, T.getenv "test_src" .. "/snax/worker/")
  T.eq(w.handle, snax.bind(w.handle, "worker").handle)
  T.raises(".", snax.bind, w.handle, "order")
  snax.kill(w)
end)

T.test("printf formats and logs", function()
  local from = T.mark()
  snax.printf("%s=%d", "x", 42)
  T.log(T.line(skynet.self(), "x=42"), from)
end)

T.test("ping server: ids, init without arguments, req, errors, hotfix of a shared local", function()
  local t = snax.interface "pingserver"
  T.eq(t.response, { ping = 5, error = 9 })
  T.eq(t.accept, { sleep = 6, hello = 7, exit = 8 })
  local from = T.mark()
  local ps = snax.uniqueservice "pingserver"
  T.log(T.line(ps.handle, "ping server start:"), from)
  T.eq(ps.req.ping("hello"), "hello")
  -- enablecluster: the same request as a lua message
  T.eq(skynet.call(ps.handle, "lua", t.response.ping, "via lua"), "via lua")
  T.raises("call failed$", ps.req.error)
  ps.post.hello()
  T.log(T.line(ps.handle, "1 hello"), from)
  local old = snax.hotfix(ps, [[
local i
local hello
local skynet
local function print_fix(...)
  skynet.error("fix", ...)
end
function accept.hello()
  i = i + 1
  print_fix(i, hello)
end
function hotfix(...)
  local temp = i
  i = 100
  return temp
end
]])
  T.eq(old, 1, "hotfix returns the old i")
  ps.post.hello()
  T.log(T.line(ps.handle, "fix 101 hello"), from)
  ps.post.exit("now")
  T.log(T.line(ps.handle, "ping server exit: now"), from)
  T.gone(ps.handle)
end)

T.test("a critical section shared by two methods serialises them in lock order", function()
  local ps = snax.newservice "pingserver"
  local from = T.mark()
  ps.post.sleep(true, 20)
  ps.post.hello()
  ps.post.sleep(true, 10)
  ps.post.hello()
  T.log(T.line(ps.handle, "2 hello"), from)
  local order = {}
  for _, line in ipairs(T.lines(from)) do
    local text = line:match("^%[:%x+%] (.*)$")
    if line:find(T.hex(ps.handle), 1, true) then order[#order + 1] = text end
  end
  T.eq(order, { "sleep begin 20", "sleep end 20", "1 hello", "sleep begin 10", "sleep end 10", "2 hello" })
  snax.kill(ps)
end)

T.start()
