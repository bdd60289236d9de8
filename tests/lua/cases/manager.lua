-- skynet.manager: presence, launch, kill, and the exit monitor. docs/TESTING.md: Lua API
-- checklist item 33, core checklist items 16 and 17 (abort: every case ends with skynet.abort(),
-- and the runner checks the exit status 0 and that no KILL line follows the verdict).
local skynet = require "skynet"
local T = require "testlib"

local function launcher_list()
  return skynet.call(".launcher", "lua", "LIST")
end

T.test("without require 'skynet.manager' the manager functions are nil", function()
  local h = skynet.newservice("nomanager")
  local present, ok, err = skynet.call(h, "lua", "check")
  T.eq(present, {}, "manager functions present")
  T.eq(ok, false, "skynet.abort() succeeded")
  T.match(err, "attempt to call a nil value %(field 'abort'%)$")
end)

T.test("require 'skynet.manager' extends and returns the skynet table", function()
  local manager = require "skynet.manager"
  T.ok(manager == skynet, "same table")
  for _, n in ipairs { "launch", "kill", "abort", "register", "name", "forward_type", "filter", "monitor" } do
    T.eq(type(skynet[n]), "function", n)
  end
end)

T.test("launch: creates the service directly, without the launcher", function()
  local from = T.mark()
  local h = skynet.launch("snlua", "early")
  T.eq(math.type(h), "integer", "handle")
  T.eq(table.pack(skynet.call(h, "lua", "a", nil, 3)), table.pack("a", nil, 3))
  T.log(T.line(h, "LAUNCH snlua early"), from)
  T.eq(launcher_list()[T.hex(h)], nil, "in the launcher's list")
end)

T.test("newservice: the launcher lists the service", function()
  local h = skynet.newservice("echo", "x", 1)
  T.eq(launcher_list()[T.hex(h)], "snlua echo x 1")
end)

T.test("kill by handle: KILL :hex from the killer, gone at once, launcher forgets it", function()
  local h = skynet.newservice("echo")
  local from = T.mark()
  skynet.kill(h)
  T.log(T.line(skynet.self(), "KILL :" .. string.format("%x", h)), from)
  T.raises("call to invalid address " .. T.esc(T.hex(h)) .. "$", skynet.call, h, "lua", "echo")
  T.eventually(function() return launcher_list()[T.hex(h)] == nil end, nil, "launcher forgets the service")
end)

T.test("kill by :hex string and by .name", function()
  local a = skynet.newservice("echo")
  skynet.kill(T.hex(a))
  T.eq(table.pack(skynet.send(a, "lua", "echo")), table.pack(nil), "killed by :hex")
  local b = skynet.newservice("echo")
  skynet.call(b, "lua", "register", ".manager_victim")
  T.eq(skynet.localname(".manager_victim"), b)
  skynet.kill(".manager_victim")
  T.eq(table.pack(skynet.send(b, "lua", "echo")), table.pack(nil), "killed by .name")
  T.eq(skynet.localname(".manager_victim"), nil, "name removed")
end)

T.test("exit monitor: exit, kill and kill of a nonexistent handle each notify it once", function()
  local m = skynet.monitor("monitorsvc")
  T.eq(math.type(m), "integer", "monitor handle")
  local a = skynet.newservice("echo")
  local b = skynet.newservice("echo")
  local from = T.mark()
  T.raises("call failed$", skynet.call, a, "lua", "exit")
  skynet.kill(b)
  skynet.kill(T.INVALID)
  T.log(T.line(a, "KILL self"), from)
  T.log(T.line(skynet.self(), "KILL :" .. string.format("%x", b)), from)
  T.log(T.line(skynet.self(), "KILL :" .. string.format("%x", T.INVALID)), from)
  local want = { [a] = 1, [b] = 1, [T.INVALID] = 1 }
  local counts
  T.eventually(function()
    counts = {}
    for _, h in ipairs(skynet.call(m, "lua", "seen")) do counts[h] = (counts[h] or 0) + 1 end
    return counts[a] and counts[b] and counts[T.INVALID]
  end, nil, "the monitor heard all three")
  T.eq(counts, want)
end)

T.start()
