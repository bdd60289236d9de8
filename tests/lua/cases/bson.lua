-- bson against every case of tests/vectors/libraries.json (bson): encoding byte for byte,
-- decoding of crafted documents, bson.type, the constructors, in-place replacement and the
-- observations; then malformed documents, which must raise and never bring the node down.
-- Each case's Lua text runs as a chunk named "(call)", as in the generator.
local skynet = require "skynet"
local driver = require "skynet.socketdriver"
local json = require "json"
local typed = require "typed"
local T = require "testlib"
local bson = require "bson"

local vectors = json.read(skynet.getenv "test_vectors" .. "/libraries.json").bson
local hex, unhex = typed.hex, typed.unhex

-- The helpers the generator's case texts use.
local function lenarray(n, f)
  return setmetatable({}, { __len = function() return n end, __index = function(_, i) return f(i) end })
end

local function nest(n) -- n single-key documents, the innermost {a = 1}
  local t = { a = 1 }
  for _ = 2, n do t = { a = t } end
  return t
end

local function ordered(list) -- a table whose __pairs walks list's key/value pairs in order
  local index = {}
  for i = 1, #list, 2 do index[list[i]] = i end
  return setmetatable({}, { __pairs = function(self)
    return function(_, k)
      local i = k == nil and 1 or index[k] + 2
      if i > #list then return nil end
      return list[i], list[i + 1]
    end, self, nil
  end })
end

local function self_ref()
  local t = {}
  t.a = t
  return t
end

local env = setmetatable({
  bson = bson, rep = string.rep, lenarray = lenarray, nest = nest, ordered = ordered,
  self_ref = self_ref, sub = bson.encode_order("x", 1, "y", "two"), func = function() end,
  co = coroutine.create(function() end),
}, { __index = _G })

-- Cases whose bytes follow next() over two string keys, so they differ between processes, but
-- which the file marks deterministic (its note says so): only their decoded value is compared.
local NEXT_ORDER = { multi_key_plain_table = true }

local function call(text, statement)
  return pcall(assert(load(statement and text or "return " .. text, "=(call)", "t", env)))
end

-- A crafted document decoded as the generator did: through a pointer (a light userdata).
local function decode_bytes(bytes)
  local p = driver.str2p(bytes)
  local r = table.pack(pcall(bson.decode, p))
  driver.drop(p)
  return table.unpack(r, 1, r.n)
end

local function check_decoded(failed, name, got, c)
  if c.decoded then
    local why = typed.diff(got, typed.value(c.decoded), "decoded")
    if why then failed[#failed + 1] = name .. ": " .. why end
  end
  if c.decoded_types then
    for i = 1, c.decoded_types.n do
      local key, want = typed.value(c.decoded_types[i][1]), c.decoded_types[i][2]
      local kind = bson.type(got[key])
      if kind ~= want then failed[#failed + 1] = name .. ": type of " .. key .. " is " .. kind end
    end
  end
end

T.test("bson exports the functions and the three constants", function()
  local got, want = {}, {}
  for k, v in pairs(bson) do
    got[#got + 1] = k .. ":" .. type(v) .. (type(v) == "string" and ":" .. hex(v) or "")
  end
  for i = 1, vectors.exports.n do
    local e = vectors.exports[i]
    want[#want + 1] = e.name .. ":" .. e.type .. (e.hex and ":" .. e.hex or "")
  end
  table.sort(got)
  table.sort(want)
  T.eq(got, want)
end)

T.test("bson.encode: every vector", function()
  local failed = {}
  for i = 1, vectors.encode.n do
    local c = vectors.encode[i]
    local ok, b = call(c.lua)
    if not c.ok then
      if ok then
        failed[#failed + 1] = c.name .. ": returned"
      elseif b ~= c.error then
        failed[#failed + 1] = string.format("%s: error %q, want %q", c.name, tostring(b), c.error)
      end
    elseif not ok then
      failed[#failed + 1] = c.name .. ": raised " .. tostring(b)
    else
      local bytes = tostring(b)
      if c.deterministic and not NEXT_ORDER[c.name] and hex(bytes) ~= c.hex then
        failed[#failed + 1] = c.name .. ": " .. hex(bytes)
      end
      if #bytes ~= c.size or #b ~= c.len_operator then failed[#failed + 1] = c.name .. ": size" end
      if c.decode_error then
        local dok, err = pcall(bson.decode, b)
        if dok or not err:find(c.decode_error, 1, true) then
          failed[#failed + 1] = c.name .. ": decode gave " .. tostring(err)
        end
      else
        local decoded = bson.decode(b)
        check_decoded(failed, c.name, decoded, c)
        if c.reencode_identical and c.deterministic and not c.reencode_order_dependent
            and tostring(bson.encode(decoded)) ~= bytes then
          failed[#failed + 1] = c.name .. ": encoding the decoded value differs"
        end
      end
    end
  end
  T.eq(failed, {})
end)

T.test("bson.decode: every crafted document", function()
  local failed = {}
  for i = 1, vectors.decode.n do
    local c = vectors.decode[i]
    local ok, got = decode_bytes(unhex(c.hex))
    if not c.ok then
      if ok then
        failed[#failed + 1] = c.name .. ": returned"
      elseif got ~= c.error then -- called straight from pcall: no position
        failed[#failed + 1] = string.format("%s: error %q, want %q", c.name, tostring(got), c.error)
      end
    elseif not ok then
      failed[#failed + 1] = c.name .. ": raised " .. tostring(got)
    else
      check_decoded(failed, c.name, got, c)
    end
  end
  T.eq(failed, {})
end)

local function run_calls(calls)
  T.eq(typed.failures(calls, function(c) return call(c.lua) end, true), {})
end

T.test("bson.type: every vector", function() run_calls(vectors.type) end)
T.test("bson constructors: every vector", function() run_calls(vectors.constructors) end)

T.test("makeindex and in-place replacement: every vector", function()
  local failed = {}
  for i = 1, vectors.replace.n do
    local c = vectors.replace[i]
    local b = assert(load("return " .. vectors.replace_document_lua, "=(doc)", "t", env))()
    if hex(tostring(b)) ~= c.before_hex then failed[#failed + 1] = c.name .. ": before" end
    env.b = b
    for j = 1, c.steps.n do
      local step = c.steps[j]
      local ok, err = call(step.lua, true)
      if ok ~= step.ok or (not ok and err ~= step.error) then
        failed[#failed + 1] = string.format("%s: %s gave %s", c.name, step.lua, tostring(err))
      end
    end
    env.b = nil
    if hex(tostring(b)) ~= c.after_hex then failed[#failed + 1] = c.name .. ": " .. hex(tostring(b)) end
    local why = typed.diff(b:decode(), typed.value(c.after_decoded), c.name)
    if why then failed[#failed + 1] = why end
  end
  T.eq(failed, {})
end)

T.test("generated object ids: time, process header, counter", function()
  local a, b = bson.objectid(), bson.objectid()
  T.eq(#a, 14)
  T.eq(a:sub(1, 2), "\0\7")
  T.ok(math.abs(string.unpack(">I4", a, 3) - os.time()) <= 5, "time field")
  T.eq(a:sub(7, 11), b:sub(7, 11))
  T.eq((string.unpack(">I3", b, 12) - string.unpack(">I3", a, 12)) % (1 << 24), 1)
end)

T.test("bson.timestamp without an increment writes 0", function()
  for _ = 1, 3 do T.eq(select(3, bson.type(bson.timestamp(100))), 0) end
end)

T.test("the encoded userdata: tostring, #, decode, light userdata", function()
  local o = vectors.userdata_observation
  local b = bson.encode({ a = 1 })
  T.eq(type(b), o.type)
  T.eq(hex(tostring(b)), o.tostring_hex)
  T.eq(#b, o.len)
  T.eq(b:decode(), bson.decode(b))
  T.eq(select("#", bson.decode(nil)), 0)
  T.eq(select("#", bson.decode(tostring(b))), 0)
  T.eq(bson.decode(bson.to_lightuserdata(b)), { a = 1 })
end)

-- Malformed documents: every truncation of a rich document, and random bytes flipped in it,
-- (its length field kept true, so that the pointer's length can be trusted). Each decode
-- returns a table or raises; the service lives on.
T.test("malformed documents raise and never crash", function()
  local doc = tostring(bson.encode_order("i", 1, "s", "text", "d", { x = 1.5, y = { 1, 2, 3 } },
    "b", bson.binary "\1\2\3", "r", bson.regex("a.c", "i"), "t", bson.timestamp(1, 2),
    "o", bson.objectid "00112233445566778899aabb", "n", bson.null, "l", 1 << 40))
  local function with_length(s)
    if #s < 4 then return s .. string.rep("\0", 4 - #s) end
    return string.pack("<i4", #s) .. s:sub(5)
  end
  local raised = 0
  for n = 4, #doc - 1 do
    local ok, err = decode_bytes(with_length(doc:sub(1, n)))
    if not ok then
      raised = raised + 1
      T.match(err, "^[^\n]+$")
    end
  end
  T.eq(raised, #doc - 4) -- a truncated document always raises
  local seed = 12345
  local function random(n) -- a small LCG: the same bytes every run
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  end
  for _ = 1, 3000 do
    local bytes = { doc:byte(1, -1) }
    for _ = 1, 1 + random(4) do
      bytes[5 + random(#bytes - 4)] = random(256)
    end
    local ok, err = decode_bytes(with_length(string.char(table.unpack(bytes))))
    T.ok(ok or type(err) == "string", "decode returns or raises a message")
  end
  T.eq(bson.decode(bson.encode({ alive = true })), { alive = true })
end)

T.start()
