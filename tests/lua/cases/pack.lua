-- skynet.pack / unpack / packstring / tostring / trash inside a running service, and
-- values across a real call. docs/TESTING.md: Lua API checklist item 27. (The byte-level
-- decoder is covered exhaustively by lua_seri_test against tests/vectors/seri.json.)
local skynet = require "skynet"
local T = require "testlib"

local function roundtrip(...)
  return table.pack(skynet.unpack(skynet.packstring(...)))
end

local function bytes(...)
  return string.char(...)
end

local echo

T.test("setup: an echo service", function()
  echo = skynet.newservice("echo")
end)

T.test("nil, booleans and integers at every size boundary round-trip", function()
  local values = {
    0, 1, 255, 256, 65535, 65536, 0x7fffffff, 0x80000000, -1, -0x80000000, -0x80000001,
    1 << 62, math.maxinteger, math.mininteger,
  }
  for _, v in ipairs(values) do
    local r = roundtrip(v)
    T.eq(r, table.pack(v), "round trip of " .. v)
    T.eq(math.type(r[1]), "integer", "subtype of " .. v)
  end
  T.eq(roundtrip(nil, true, false, nil), table.pack(nil, true, false, nil))
end)

T.test("floats stay floats, integral ones included", function()
  for _, v in ipairs { 0.0, 1.5, -2.25, 2.0, 2 ^ 40, 1e300, -0.0 } do
    local r = roundtrip(v)
    T.eq(math.type(r[1]), "float", "subtype of " .. v)
    T.eq(r[1], v, "value")
  end
  local inf = roundtrip(math.huge)[1]
  T.eq(inf, math.huge)
  local nan = roundtrip(0 / 0)[1]
  T.ok(nan ~= nan, "NaN")
end)

T.test("strings of length 0, 31, 32, 65535, 65536", function()
  for _, n in ipairs { 0, 1, 31, 32, 65535, 65536, 100000 } do
    local s = string.rep("x", n - 1) .. (n > 0 and "\0" or "")
    local r = roundtrip(s)
    T.ok(r[1] == s, "string of length " .. n)
  end
end)

T.test("nested tables, holes, __pairs tables", function()
  local t = { 1, 2, { a = { b = { c = "deep" } } }, x = "y", [10] = 10, [1.5] = "f", [true] = false }
  T.eq(roundtrip(t), table.pack(t))
  local holes = { 1, nil, 3, nil, 5 }
  local got = roundtrip(holes)[1]
  for i = 1, 5 do T.eq(got[i], holes[i], "index " .. i) end
  local proxy = setmetatable({}, {
    __pairs = function()
      return next, { p = 1, q = { 2 } }, nil
    end,
  })
  T.eq(roundtrip(proxy), table.pack { p = 1, q = { 2 } })
  T.eq(getmetatable(roundtrip(setmetatable({ 1 }, { __index = {} }))[1]), nil, "metatables are not kept")
end)

T.test("byte-exact encodings", function()
  T.eq(skynet.packstring(nil), bytes(0x00), "nil")
  T.eq(skynet.packstring(false, true), bytes(0x01, 0x09), "booleans")
  T.eq(skynet.packstring(0), bytes(0x02), "0")
  T.eq(skynet.packstring(1), bytes(0x0a, 0x01), "1")
  T.eq(skynet.packstring(255), bytes(0x0a, 0xff), "255")
  T.eq(skynet.packstring(256), bytes(0x12, 0x00, 0x01), "256")
  T.eq(skynet.packstring(65535), bytes(0x12, 0xff, 0xff), "65535")
  T.eq(skynet.packstring(65536), bytes(0x22, 0x00, 0x00, 0x01, 0x00), "65536")
  T.eq(skynet.packstring(-1), bytes(0x22, 0xff, 0xff, 0xff, 0xff), "-1")
  T.eq(skynet.packstring(0x80000000), bytes(0x32, 0x00, 0x00, 0x00, 0x80, 0, 0, 0, 0), "2^31")
  T.eq(skynet.packstring(1.0), bytes(0x42, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f), "1.0")
  T.eq(skynet.packstring("abc"), bytes(0x1c) .. "abc", "short string")
  T.eq(skynet.packstring(string.rep("a", 32)), bytes(0x15, 0x20, 0x00) .. string.rep("a", 32), "32 bytes")
  T.eq(skynet.packstring(string.rep("a", 65536)):sub(1, 5), bytes(0x25, 0x00, 0x00, 0x01, 0x00), "65536 bytes")
  T.eq(skynet.packstring { 1, 2 }, bytes(0x16, 0x0a, 0x01, 0x0a, 0x02, 0x00), "array")
  T.eq(skynet.packstring { a = 1 }, bytes(0x06, 0x0c, 0x61, 0x0a, 0x01, 0x00), "hash")
  T.eq(skynet.unpack(bytes(0x12, 0x00, 0x01)), 256, "unpack of a string")
end)

T.test("functions, threads and depth 33 cannot be packed", function()
  T.raises("Unsupport type function to serialize$", skynet.packstring, print)
  T.raises("Unsupport type thread to serialize$", skynet.packstring, coroutine.create(print))
  -- n nested tables, the innermost holding 1 (depth accounting: docs/SERI.md)
  local function nested(n)
    local t = { 1 }
    for _ = 2, n do t = { t } end
    return t
  end
  T.raises("serialize can't pack too depth table$", skynet.packstring, nested(33))
  local ok32 = nested(32)
  T.ok(pcall(skynet.packstring, ok32), "32 nested tables pack")
end)

T.test("pack gives a raw message; tostring copies it; trash frees it; empty input", function()
  local msg, sz = skynet.pack("a", 1)
  T.eq(type(msg), "userdata", "msg")
  T.eq(sz, #skynet.packstring("a", 1), "sz")
  T.eq(skynet.tostring(msg, sz), skynet.packstring("a", 1))
  T.eq(table.pack(skynet.unpack(msg, sz)), table.pack("a", 1))
  skynet.trash(msg, sz)
  local _, sz0 = skynet.pack()
  T.eq(sz0, 0, "pack() size")
  T.eq(select("#", skynet.unpack(nil)), 0, "unpack(nil)")
  T.eq(select("#", skynet.unpack("")), 0, "unpack('')")
  T.eq(select("#", skynet.tostring(nil)), 0, "tostring(nil)")
  skynet.trash("a string is ignored", 0)
  T.raises("skynet%.trash invalid param", skynet.trash, {}, 0)
end)

T.test("decoder errors", function()
  T.raises("Invalid serialize stream", skynet.unpack, bytes(0x12, 0x00))
end)

T.test("values survive a call in both directions", function()
  local t = { 1, nil, 3, s = string.rep("z", 70000), f = 2 ^ 40, n = -0x80000001, nested = { { {} } } }
  local r = table.pack(skynet.call(echo, "lua", "echo", t, 2.0, 7, nil))
  T.eq(r, table.pack(t, 2.0, 7, nil))
end)

T.start()
