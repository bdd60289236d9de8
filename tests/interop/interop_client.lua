-- The calling side of scripts/cluster-interop.sh. Runs unchanged on skynet and Starling
-- (public API only). The server's address comes from the config key interop_node. Each check
-- prints `INTEROP PASS <check>` or `INTEROP FAIL <check>: <why>`; a check that gets no answer
-- within LIMIT fails and the next one runs. At the end: `INTEROP DONE <passed>/<checks>`, then
-- the node aborts. The lines are printed, not logged: abort may retire the logger before it
-- wrote what was queued for it.
local skynet = require "skynet"
require "skynet.manager"
local cluster = require "skynet.cluster"
local payload = require "interop_payload"
local interop_checks = require "interop_checks"

local NODE = "srv" -- no '.' or '@': cluster.proxy "srv@interop" splits there
local LIMIT = 6000 -- centiseconds a check may take
local MiB = 1024 * 1024

local tally = interop_checks.new()

local function run(name, f)
  local token, done, ok, err = {}, false, false, nil
  skynet.fork(function()
    ok, err = pcall(f)
    done = true
    skynet.wakeup(token)
  end)
  skynet.timeout(LIMIT, function()
    skynet.wakeup(token)
  end)
  skynet.wait(token)
  if not done then
    ok, err = false, "no answer within " .. LIMIT // 100 .. " s"
  end
  tally.record(name, ok, err)
end

local function show(v)
  return type(v) == "string" and #v > 40 and ("a string of " .. #v .. " bytes") or tostring(v)
end

local function eq(got, want, what)
  if got == want then
    return
  end
  if type(got) == "string" and type(want) == "string" and #got == #want then
    local at = 1
    while got:sub(at, at + 4095) == want:sub(at, at + 4095) do
      at = at + 4096
    end
    while got:byte(at) == want:byte(at) do
      at = at + 1
    end
    error(string.format("%s: %d bytes as wanted, but byte %d differs", what, #got, at), 0)
  end
  error(string.format("%s: got %s, want %s", what, show(got), show(want)), 0)
end

local function call_fails(f, ...)
  local ok, err = pcall(f, ...)
  if ok then
    error("did not raise", 0)
  end
  if not tostring(err):match "call failed$" then
    error("raised " .. tostring(err) .. ", want an error ending in call failed", 0)
  end
end

-- waits until the server has recorded the push `tag`; sends of a split push may be overtaken
-- by later small requests, so the arrival is polled, with a deadline
local function arrived(tag, length)
  for _ = 1, 500 do
    local n, ok = cluster.call(NODE, "@interop", "pushed", tag)
    if n then
      eq(n, length, "length of push " .. tag)
      eq(ok, true, "content of push " .. tag)
      return
    end
    skynet.sleep(10)
  end
  error("push " .. tag .. " never arrived", 0)
end

local function call(...)
  return cluster.call(NODE, "@interop", ...)
end

skynet.start(function()
  cluster.reload { [NODE] = assert(skynet.getenv "interop_node", "config key interop_node") }
  local handle
  run("call @name", function()
    local a, b, c = call("echo", "hello", 42, true)
    eq(a, "hello", "1st value")
    eq(b, 42, "2nd value")
    eq(c, true, "3rd value")
  end)
  run("query", function()
    handle = cluster.query(NODE, "interop")
    eq(math.type(handle), "integer", "type of the handle")
  end)
  run("call by handle", function()
    eq(cluster.call(NODE, assert(handle, "no handle from query"), "whoami"), handle, "whoami")
  end)
  run("call .name", function()
    eq(cluster.call(NODE, ".interop", "echo", "dot"), "dot", "reply")
    eq(cluster.call(NODE, ".interop", "whoami"), handle, "whoami")
  end)
  run("query miss", function()
    call_fails(cluster.query, NODE, "nosuchname")
  end)
  run("push", function()
    cluster.send(NODE, "@interop", "push", "small", "12345")
    arrived("small", 5)
  end)
  run("argument 100000 bytes", function()
    local ok, n = call("check", payload(100000, 1), 100000, 1)
    eq(n, 100000, "length received")
    eq(ok, true, "content received")
  end)
  run("reply 100000 bytes", function()
    eq(call("make", 100000, 2), payload(100000, 2), "reply")
  end)
  run("argument of 32765 chars (payload 32768)", function()
    local s = payload(32765, 3)
    eq(#skynet.packstring(s), 32768, "payload size")
    eq(call(s), s, "echo")
  end)
  run("push 40000 bytes", function()
    cluster.send(NODE, "@interop", "push", "large", payload(40000, 4), 4)
    arrived("large", 40000)
  end)
  run("remote error", function()
    call_fails(call, "fail")
  end)
  run("unknown @name", function()
    call_fails(cluster.call, NODE, "@nosuchname", "echo", 1)
  end)
  run("proxy call", function()
    local proxy = cluster.proxy(NODE .. "@interop")
    eq(skynet.call(proxy, "lua", "echo", "via proxy"), "via proxy", "reply")
  end)
  run("proxy send", function()
    local proxy = cluster.proxy(NODE .. "@interop")
    skynet.send(proxy, "lua", "push", "proxied", "via proxy")
    arrived("proxied", 9)
  end)
  run("request 10 MiB", function()
    local ok, n = call("check", payload(10 * MiB, 5), 10 * MiB, 5)
    eq(n, 10 * MiB, "length received")
    eq(ok, true, "content received")
  end)
  run("reply 10 MiB", function()
    eq(call("make", 10 * MiB, 6), payload(10 * MiB, 6), "reply")
  end)
  tally.done "DONE"
  skynet.abort()
end)
