-- The boot sequence and handle numbering, seen from the start service; the Lua logger.
-- docs/TESTING.md: core checklist items 1, 2 and 19; the values of getenv at boot.
-- The sub-tests run after the start function returned (detached), because the bootstrap
-- logs its `KILL self` only then.
local skynet = require "skynet"
require "skynet.manager"
local T = require "testlib"

local at_start = {}

T.test("boot log: handles 2..8, LAUNCH harbor 0 4, bootstrap KILL self after the start function", function()
  local _, kill_at = T.log("^%[:00000002%] KILL self$", 1, T.DEADLINE)
  local lines = T.lines(1, kill_at)
  T.eq({ table.unpack(lines, 1, 7) }, {
    "[:00000002] LAUNCH snlua bootstrap",
    "[:00000003] LAUNCH snlua launcher",
    "[:00000004] LAUNCH snlua cdummy",
    "[:00000005] LAUNCH harbor 0 4",
    "[:00000006] LAUNCH snlua datacenterd",
    "[:00000007] LAUNCH snlua service_mgr",
    "[:00000008] LAUNCH snlua boot",
  }, "first log lines")
  local _, marker_at = T.log(T.line(8, "boot: start function returns"))
  T.ok(marker_at < kill_at, "the bootstrap's KILL self comes after the start function returned")
  T.eq(T.count_log("^%[:00000002%] KILL self$"), 1, "one KILL self from the bootstrap")
end)

T.test("the start service is :00000008; well-known names", function()
  T.eq(skynet.self(), 8)
  T.eq(skynet.address(skynet.self()), ":00000008")
  T.eq(skynet.address(".launcher"), ".launcher")
  T.eq(skynet.localname(".logger"), 1, ".logger")
  T.eq(skynet.localname(".launcher"), 3, ".launcher")
  T.eq(skynet.localname(".cslave"), 4, ".cslave")
  T.eq(skynet.localname(".service"), 7, ".service")
  T.eq(table.pack(skynet.harbor(skynet.self())), table.pack(0, false), "harbor")
end)

-- Launched by the start function (before the bootstrap retires: with :00000002 free, the
-- handle table would skip 9, whose slot is held by :00000001).
T.test("user services get 9, 10, ...; a killed service's handle is not reused", function()
  T.eq(at_start.launched, { 9, 10, 11 }, "two services, kill of the second, a third")
end)

T.test("the Lua logger receives every line with its source", function()
  local from = T.mark()
  skynet.error("boot: hello from the start service")
  T.log(T.line(8, "boot: hello from the start service"), from)
  T.log(T.line(9, "LAUNCH snlua echo"))
  T.raises("call failed$", skynet.call, 9, "lua", "raise", "logged by nine")
  T.log("^%[:00000009%] lua call %[8 to :9 : %d+ msgsz = %d+%] error : \27%[31m.*logged by nine", from)
end)

T.test("environment at boot", function()
  local want = {
    harbor = "0", standalone = "true", thread = "2", profile = "true",
    logservice = "snlua", logger = "testlogger", bootstrap = "snlua bootstrap",
    start = "boot", test_case = "boot",
  }
  for k, v in pairs(want) do T.eq(skynet.getenv(k), v, k) end
  T.eq(skynet.getenv "daemon", nil, "daemon")
  T.eq(skynet.getenv "preload", nil, "preload")
end)

T.test("skynet.now() starts at the wall-clock centisecond, not at a large value", function()
  -- now() = ticks since start + (0..99): bounded by the wall-clock time elapsed since start
  local bound = 100 + 100 * (at_start.os_time - at_start.starttime + 1)
  T.ok(at_start.now < bound, "now() in the start function is " .. at_start.now .. ", bound " .. bound)
  T.eq(math.type(at_start.now), "integer", "now() type")
  T.eq(math.type(at_start.starttime), "integer", "starttime() type")
end)

T.start {
  detached = true,
  before = function()
    at_start.now = skynet.now()
    at_start.starttime = skynet.starttime()
    at_start.os_time = os.time()
    local a = skynet.newservice("echo")
    local b = skynet.newservice("echo")
    skynet.kill(b)
    at_start.launched = { a, b, skynet.newservice("echo") }
    skynet.error("boot: start function returns")
  end,
}
