-- skynet.sharemap (docs/LIBRARIES.md "stm and sharemap"): the spec's checklist item 19. It
-- needs sproto; until the tree has it the case only says so.
local skynet = require "skynet"
local T = require "testlib"

if not pcall(require, "sproto") then
  T.test("sharemap needs sproto, which this tree does not have yet", function() end)
  skynet.start(function() T.start() end)
  return
end

local sharemap = require "skynet.sharemap"

local SCHEMA = [[
.foobar {
	x 0 : integer
	y 1 : integer
	s 2 : string
}
]]

T.test("a writer before register fails", function()
  T.raises("nil sproto at index 0", sharemap.writer, "foobar", {})
end)

T.test("testsm sequence; reader writes raise; unknown fields dropped; wrong types fail", function()
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(SCHEMA)
  f:close()
  sharemap.register(path)
  os.remove(path)
  local w = sharemap.writer("foobar", { x = 1, y = 0, s = "hello" })
  local r = sharemap.reader("foobar", w:copy())
  T.eq({ r.x, r.y, r.s }, { 1, 0, "hello" })
  T.eq(r:update(), false)
  w.y = 2
  w:commit()
  T.eq(r:update(), true)
  T.eq({ r.x, r.y, r.s }, { 1, 2, "hello" })
  w.s = "world"
  w:commit()
  T.ok(r:update())
  T.eq({ r.x, r.y, r.s }, { 1, 2, "world" })
  T.raises(".", function() r.x = 5 end)
  w.unknown = 1
  w:commit()
  T.ok(r:update())
  T.eq(r.unknown, nil)
  w.x = "str"
  T.raises("is not an integer", w.commit, w)
end)

skynet.start(function() T.start() end)
