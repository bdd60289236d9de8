-- Node-unique services: uniqueservice / queryservice (service_mgr), datacenter, and
-- skynet.service. docs/TESTING.md: Lua API checklist items 34-35, core checklist items 25-26.
local skynet = require "skynet"
local datacenter = require "skynet.datacenter"
local service = require "skynet.service"
local T = require "testlib"

local echo

-- The body of a skynet.service cell: only _ENV as upvalue.
local function cell_main(...)
  local skynet = require "skynet"
  local args = table.pack(...)
  skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd)
      if cmd == "who" then
        skynet.retpack("first definition", skynet.self(), table.unpack(args, 1, args.n))
      end
    end)
  end)
end

T.test("setup: an echo service", function()
  echo = skynet.newservice("echo")
end)

T.test("uniqueservice: one instance per name whatever the arguments, also from another service", function()
  local h = skynet.uniqueservice("uniq", "first", "args")
  T.eq(math.type(h), "integer", "handle")
  T.eq(skynet.uniqueservice("uniq", "other"), h, "second call")
  T.eq(skynet.uniqueservice("uniq"), h, "third call")
  T.eq(skynet.call(echo, "lua", "uniqueservice", "uniq"), h, "from another service")
  T.eq(table.pack(skynet.call(h, "lua", "args")), table.pack("first", "args"), "the first caller's arguments")
  T.eq(skynet.queryservice("uniq"), h, "queryservice of a launched service")
end)

T.test("uniqueservice: concurrent first calls launch once", function()
  local from = T.mark()
  local ps = {}
  for i = 1, 3 do ps[i] = T.spawn(skynet.uniqueservice, "uniqslow", i) end
  local h = ps[1]:value()
  T.eq(ps[2]:value(), h, "second caller")
  T.eq(ps[3]:value(), h, "third caller")
  T.eq(T.count_log("LAUNCH snlua uniqslow", from), 1, "LAUNCH lines")
end)

T.test("uniqueservice: a failed launch is cached", function()
  local from = T.mark()
  T.raises(".", skynet.uniqueservice, "startfail")
  T.raises(".", skynet.uniqueservice, "startfail")
  T.raises(".", skynet.queryservice, "startfail")
  T.eq(T.count_log("LAUNCH snlua startfail", from), 1, "LAUNCH lines")
end)

T.test("queryservice waits until someone launches the service", function()
  local p = T.blocks(30, skynet.queryservice, "uniqlate")
  local h = skynet.uniqueservice("uniqlate")
  T.eq(p:value(), h)
end)

T.test("datacenter: set and get nested keys, from any service", function()
  T.eq(datacenter.set("dc", "a", "b", 1), nil, "previous value")
  T.eq(datacenter.get("dc", "a", "b"), 1)
  T.eq(datacenter.get("dc", "a"), { b = 1 })
  T.eq(datacenter.get("dc", "missing"), nil)
  T.eq(datacenter.set("dc", "a", "b", 2), 1, "previous value")
  T.eq(skynet.call(echo, "lua", "datacenter", "get", "dc", "a", "b"), 2, "seen from another service")
  skynet.call(echo, "lua", "datacenter", "set", "dc", "from echo", true)
  T.eq(datacenter.get("dc", "from echo"), true, "set by another service")
end)

T.test("datacenter: wait returns at once when set, else is released by a later set", function()
  T.eq(datacenter.wait("dc", "a", "b"), 2, "existing value")
  local p = T.blocks(30, datacenter.wait, "dcw", "x")
  skynet.call(echo, "lua", "datacenter", "set", "dcw", "x", "v")
  T.eq(p:value(), "v")
end)

T.test("datacenter: a waiter on a shorter path fails when a longer one is set", function()
  local p = T.blocks(30, datacenter.wait, "dcp")
  datacenter.set("dcp", "deep", 1)
  T.match(p:err(), "call failed$")
end)

T.test("skynet.service.new: one instance shared by every service", function()
  local from = T.mark()
  local h = service.new("shared_cell", cell_main, "a1", "a2")
  T.eq(math.type(h), "integer", "handle")
  T.eq(table.pack(skynet.call(h, "lua", "who")), table.pack("first definition", h, "a1", "a2"))
  T.eq(service.new("shared_cell", cell_main), h, "second call")
  T.eq(skynet.call(echo, "lua", "service_new", "shared_cell"), h, "another service")
  T.eq(skynet.call(echo, "lua", "service_query", "shared_cell"), h, "query from another service")
  T.eq(service.query("shared_cell"), h, "query")
  T.log("^%[" .. T.hex(h) .. "%] LAUNCH snlua service_cell shared_cell$", from)
  T.eq(T.count_log("LAUNCH snlua service_cell shared_cell$", from), 1, "LAUNCH lines")
end)

T.test("skynet.service: query waits for the boot; close", function()
  local p = T.blocks(30, service.query, "later_cell")
  local h = service.new("later_cell", cell_main)
  T.eq(p:value(), h)
  T.eq(service.close("later_cell"), true)
  T.eq(service.close("never_booted_cell"), false)
end)

T.test("skynet.service.new refuses a function that captures locals", function()
  local captured = 1
  T.raises(".", service.new, "bad_cell", function() return captured end)
end)

T.start()
