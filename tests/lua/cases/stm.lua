-- skynet.stm (docs/LIBRARIES.md "stm and sharemap"): the spec's checklist item 18 (teststm's
-- sequence) and the edges of the module.
local skynet = require "skynet"
local stm = require "skynet.stm"
local T = require "testlib"

T.test("teststm sequence: first read, unchanged, each write, writer gone", function()
  local w = skynet.newservice("stm_peer")
  local r = skynet.newservice("stm_peer")
  local ref = skynet.call(w, "lua", "new", 1, 2, 3, 4, 5)
  skynet.call(r, "lua", "adopt", ref)
  T.eq(skynet.call(r, "lua", "read"), table.pack(true, 1, 2, 3, 4, 5))
  T.eq(skynet.call(r, "lua", "read"), table.pack(false))
  for i = 1, 3 do
    skynet.call(w, "lua", "write", "hello world", i)
    T.eq(skynet.call(r, "lua", "read"), table.pack(true, "hello world", i))
    T.eq(skynet.call(r, "lua", "read"), table.pack(false))
  end
  skynet.send(w, "lua", "exit")
  T.gone(w)
  T.eventually(function() return skynet.call(r, "lua", "read").n == 1 end, 500)
  T.eq(skynet.call(r, "lua", "read"), table.pack(false))
  skynet.send(r, "lua", "exit")
  T.gone(r)
end)

T.test("a string message is copied; readers of one cell are independent", function()
  local w = stm.new("first")
  local a = stm.newcopy(stm.copy(w))
  local b = stm.newcopy(stm.copy(w))
  local function text(msg, sz) return skynet.tostring(msg, sz) end
  T.eq(table.pack(a(text)), table.pack(true, "first"))
  w("second")
  T.eq(table.pack(a(text)), table.pack(true, "second"))
  T.eq(table.pack(b(text)), table.pack(true, "second"), "b never read the first one")
  T.eq(table.pack(b(text)), table.pack(false))
end)

T.test("the reader passes ud and returns every result of f; an error of f propagates", function()
  local w = stm.new("x")
  local r = stm.newcopy(stm.copy(w))
  T.eq(table.pack(r(function(_, sz, ud) return sz, ud, nil end, "ud")), table.pack(true, 1, "ud", nil))
  w("y")
  T.raises("boom$", r, function() error("boom", 0) end)
  w("z")
  T.eq(table.pack(r(function(msg, sz) return skynet.tostring(msg, sz) end)), table.pack(true, "z"))
end)

T.test("bad arguments raise", function()
  T.raises("bad argument", stm.new, 42)
  T.raises("bad argument", stm.newcopy, "ref")
  local w = stm.new("x")
  T.raises("bad argument", w, {})
end)

T.start()
