-- Local and global names. docs/TESTING.md: core checklist items 3 and 4.
local skynet = require "skynet"
require "skynet.manager"
local T = require "testlib"

skynet.dispatch("lua", function(_, source, cmd)
  if cmd == "ping" then skynet.retpack("pong", source) end
end)

T.test("well-known local names", function()
  T.eq(skynet.localname(".logger"), 1, ".logger")
  T.eq(skynet.localname(".launcher"), 3, ".launcher")
  T.eq(skynet.localname(".cslave"), 4, ".cslave")
  T.eq(skynet.localname(".nonexist"), nil, ".nonexist")
  T.eq(skynet.localname("launcher"), nil, "a name without the dot")
end)

T.test("register a local name for self, then look it up and call through it", function()
  skynet.register(".names_self")
  T.eq(skynet.localname(".names_self"), skynet.self())
  T.eq(table.pack(skynet.call(".names_self", "lua", "ping")), table.pack("pong", skynet.self()))
end)

T.test("duplicate registration keeps the first owner, silently", function()
  local h = skynet.newservice("echo")
  skynet.name(".names_self", h)
  T.eq(skynet.localname(".names_self"), skynet.self(), "after skynet.name")
  skynet.call(h, "lua", "register", ".names_self")
  T.eq(skynet.localname(".names_self"), skynet.self(), "after the other service's register")
  skynet.name(".launcher", h)
  T.eq(skynet.localname(".launcher"), 3, ".launcher")
end)

T.test("one handle with two names; the names disappear when the owner exits", function()
  local h = skynet.newservice("echo")
  skynet.name(".names_alias1", h)
  skynet.name(".names_alias2", h)
  T.eq(skynet.localname(".names_alias1"), h)
  T.eq(skynet.localname(".names_alias2"), h)
  T.eq(skynet.call(".names_alias2", "lua", "echo", "via alias"), "via alias")
  T.eq(skynet.call(h, "lua", "localname", ".names_alias1"), h, "seen from the owner")
  T.raises("call failed$", skynet.call, h, "lua", "exit")
  T.eventually(function()
    return skynet.localname(".names_alias1") == nil and skynet.localname(".names_alias2") == nil
  end, nil, "names removed with the service")
  T.raises("call to invalid address %.names_alias1$", skynet.call, ".names_alias1", "lua", "echo")
end)

T.test("global name: send and call by name reach the owner with source and session", function()
  local h = skynet.newservice("echo")
  skynet.name("NAMESECHO", h)
  T.eq(skynet.call("NAMESECHO", "lua", "echo", "global"), "global")
  local session, source = skynet.call("NAMESECHO", "lua", "context")
  T.eq(source, skynet.self(), "source")
  T.ok(session > 0, "session")
  T.eq(skynet.send("NAMESECHO", "lua", "collect", "g", 1), 0, "send")
  T.eq(skynet.call(h, "lua", "get", "g"), { 1 })
end)

T.test("global name for self", function()
  skynet.register("NAMESSELF")
  T.eq(table.pack(skynet.call("NAMESSELF", "lua", "ping")), table.pack("pong", skynet.self()))
end)

T.test("a call to a global name waits until the name is registered", function()
  local h = skynet.newservice("echo")
  local p = T.blocks(30, skynet.call, "NAMESLATE", "lua", "echo", "late")
  skynet.name("NAMESLATE", h)
  T.eq(p:value(), "late")
end)

T.test("bad global names raise: 16 bytes, numeric, leading colon", function()
  T.raises(".", skynet.register, "ABCDEFGHIJKLMNOP")
  T.raises(".", skynet.register, "12345")
  T.raises(".", skynet.register, ":abc")
  T.raises(".", skynet.name, "ABCDEFGHIJKLMNOP", skynet.self())
  skynet.register("ABCDEFGHIJKLMNO") -- 15 bytes is fine
  T.eq(skynet.call("ABCDEFGHIJKLMNO", "lua", "ping"), "pong")
end)

T.start()
