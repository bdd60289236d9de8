-- skynet.crypt and md5 against every call of tests/vectors/libraries.json (crypt, md5): each
-- case's Lua text runs as a chunk named "(call)", as in the generator, so results and error
-- texts compare exactly; then the relations and the non-reproducible functions.
local skynet = require "skynet"
local json = require "json"
local typed = require "typed"
local T = require "testlib"
local crypt = require "skynet.crypt"
local md5 = require "md5"

local vectors = json.read(skynet.getenv "test_vectors" .. "/libraries.json")

local function bytes(from, to)
  local t = {}
  for i = from, to do t[#t + 1] = string.char(i) end
  return table.concat(t)
end

local env = { crypt = crypt, md5 = md5, H = typed.unhex, rep = string.rep, bytes = bytes,
              char = string.char }

-- Runs every call of a section: results byte for byte, errors by their whole text.
local function run_calls(calls)
  T.eq(typed.failures(calls, function(c)
    return pcall(assert(load("return " .. c.lua, "=(call)", "t", env)))
  end), {})
end

local function exports_of(module, list)
  local got, want = {}, {}
  for k, v in pairs(module) do got[#got + 1] = k .. ":" .. type(v) end
  for i = 1, list.n do want[#want + 1] = list[i].name .. ":" .. list[i].type end
  table.sort(got)
  table.sort(want)
  T.eq(got, want)
end

T.test("crypt exports every function and the padding table", function()
  exports_of(crypt, vectors.crypt.exports)
  T.eq(crypt.padding, { iso7816_4 = 0, pkcs7 = 1 })
end)

T.test("crypt: every call vector", function() run_calls(vectors.crypt.calls) end)

T.test("crypt: the relations hold", function()
  local a, b = "12345678", "abcdefgh"
  local m = md5.sum((a .. b):rep(3))
  T.eq(crypt.hmac64_md5(a, b), crypt.xor_str(m:sub(1, 8), m:sub(9, 16)))
  for _ = 1, 20 do
    local x, y = crypt.randomkey(), crypt.randomkey()
    T.eq(crypt.dhsecret(crypt.dhexchange(x), y), crypt.dhsecret(crypt.dhexchange(y), x))
  end
  T.eq(crypt.hmac_hash(a, "some text"), crypt.hmac64(crypt.hashkey("some text"), a))
end)

T.test("crypt.randomkey gives 8 bytes", function()
  for _ = 1, 1000 do T.eq(#crypt.randomkey(), 8) end
end)

T.test("crypt: des round trips in both paddings", function()
  local key = crypt.randomkey()
  for n = 0, 40 do
    local text = bytes(0, n)
    T.eq(crypt.desdecode(key, crypt.desencode(key, text)), text)
    T.eq(crypt.desdecode(key, crypt.desencode(key, text, 1), 1), text)
  end
end)

T.test("md5 exports sum, sumhexa, exor, crypt, decrypt, hmacmd5", function()
  exports_of(md5, vectors.md5.exports)
  for i = 1, vectors.md5.exports.n do
    local e = vectors.md5.exports[i]
    if e.value then T.eq(md5[e.name], e.value) end
  end
end)

T.test("md5: every call vector", function() run_calls(vectors.md5.calls) end)

T.test("md5.crypt without a seed uses the time", function()
  local c = md5.crypt("hello", "key")
  T.eq(#c, vectors.md5.crypt_without_seed_observation.length)
  T.eq(c:byte(1), vectors.md5.crypt_without_seed_observation.first_byte)
  T.eq(md5.decrypt(c, "key"), "hello")
end)

T.start()
