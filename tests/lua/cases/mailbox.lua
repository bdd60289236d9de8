-- The mailbox limit for Lua services (skynet.mailbox; docs/DESIGN.md, "Mailboxes"): calls past
-- it fail at once, sends are dropped; and the overload warnings as the queue grows. (That
-- replies and errors always get in: tests/core/node_test.cpp.)
local skynet = require "skynet"
local mailbox = require "skynet.mailbox"
local T = require "testlib"

local release_count = 0
-- A file whose existence lets a held `limited` service go on.
local function release_path()
  release_count = release_count + 1
  return string.format("%s/release.%d", T.getenv "test_tmp", release_count)
end
local function release(path)
  assert(io.open(path, "w")):close()
end
-- Sends "hold" and waits until the service holds: it has taken no batch of what follows.
local function hold(svc, path)
  skynet.send(svc, "lua", "hold", path)
  T.eventually(function()
    local f = io.open(path .. ".held")
    if f then f:close() end
    return f
  end, nil, "the service holds")
end
-- Waits until `svc` takes calls again.
local function drained(svc)
  T.eventually(function() return pcall(skynet.call, svc, "lua", "echo") end, nil, "drained")
end

T.test("limit() reads and sets the caller's limit; bad values raise", function()
  T.eq(mailbox.limit(), 0, "none by default")
  T.eq(mailbox.limit(50), 50)
  T.eq(mailbox.limit(), 50)
  T.eq(mailbox.limit(0), 0)
  T.raises("non%-negative integer expected", mailbox.limit, -1)
  T.raises("non%-negative integer expected", mailbox.limit, 1.5)
  T.raises("non%-negative integer expected", mailbox.limit, "10")
end)

T.test("past the limit a call fails at once, a send is dropped, and a line is logged", function()
  local svc = skynet.newservice("limited", 4)
  T.eq(skynet.call(svc, "lua", "echo"), "echo")
  local path = release_path()
  local from = T.mark()
  hold(svc, path)
  for _ = 1, 4 do
    skynet.send(svc, "lua", "noop") -- queued behind "hold": the mailbox is at its limit
  end
  T.raises("call failed$", skynet.call, svc, "lua", "echo")
  T.eq(skynet.send(svc, "lua", "noop"), 0, "a send past the limit is dropped without an error")
  T.log(T.line(svc, "error: mailbox full, 1 message(s) refused since it was last empty"), from)
  T.log(T.line(svc, "error: mailbox full, 2 message(s) refused since it was last empty"), from)
  release(path)
  drained(svc)
  T.eq(table.pack(skynet.call(svc, "lua", "count")), table.pack(4, 4), "the four queued sends")
end)

T.test("overload warnings come at 1024, 2048, 4096 queued while the service is held", function()
  local svc = skynet.newservice("limited", 0)
  local path = release_path()
  local from = T.mark()
  hold(svc, path)
  for _ = 1, 5000 do
    skynet.send(svc, "lua", "noop")
  end
  for _, length in ipairs { 1025, 2049, 4097 } do
    T.log(T.line(svc, "error: May overload, message queue length = " .. length), from)
  end
  release(path)
  T.eq(skynet.call(svc, "lua", "count"), 5000)
  T.eq(T.count_log("May overload", from), 3)
end)

skynet.dispatch("lua", function() end)
T.start()
