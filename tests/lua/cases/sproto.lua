-- sproto, sprotoparser and sprotoloader in a running service against the golden vectors of
-- real skynet (tests/vectors/libraries.json, key sproto): schema text to bundle (with Debian's
-- LPeg), encode / decode / 0-packing of every case, the defaults, the Lua API, the RPC
-- conversations, the process-wide loader slots; then bad schema text and bad bytes, which must
-- raise clear errors and leave the service running. The config's lua_cpath (a luaclib/ without
-- lpeg.so) stays: Debian's directory is searched after it.
local skynet = require "skynet"
local T = require "testlib"
local json = require "json"
local typed_value = require "typed"
local sproto = require "sproto"
local parser = require "sprotoparser"
local loader = require "sprotoloader"
local core = require "sproto.core"
local driver = require "skynet.socketdriver"

local V = json.read(T.getenv("test_vectors") .. "/libraries.json").sproto

local H, hex = typed_value.unhex, typed_value.hex

-- A typed value of the vectors (tests/vectors/README.md, "Notation") as a Lua value; an absent
-- one is nil.
local function typed(v)
  if v ~= nil then return typed_value.value(v) end
end

-- skynet's texts carry skynet's file positions: compare what follows them.
local function tail(message)
  return (tostring(message):gsub("^[^\n]-:%d+: ", "", 1))
end

local function raises_text(want, f, ...)
  local ok, err = pcall(f, ...)
  T.ok(not ok, "expected the error " .. want)
  T.eq(tail(err), tail(want))
end

-- Helpers the vectors' Lua texts use.
local function deep(n)
  if n == 0 then return { name = "leaf" } end
  return { name = "p" .. n, children = { deep(n - 1) } }
end

local function pairs_list(list)
  return setmetatable({}, {
    __pairs = function()
      local i = -1
      return function()
        i = i + 2
        if list[i] ~= nil then return list[i], list[i + 1] end
      end
    end,
  })
end

local env_base = {
  H = H, hex = hex, rep = string.rep, deep = deep, pairs_list = pairs_list, sproto = sproto,
  core = core, loader = loader,
  bytes = function(from, to)
    local out = {}
    for b = from, to do out[#out + 1] = string.char(b) end
    return table.concat(out)
  end,
  endless = setmetatable({}, { __index = function(_, i) return i end }),
  lenonly = setmetatable({}, {
    __index = function(_, i) if i <= 3 then return i * 100 end end,
    __len = function() return 10 end,
  }),
}

local function env(extra)
  local e = setmetatable({}, { __index = function(_, k) if env_base[k] ~= nil then return env_base[k] end return _G[k] end })
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

-- Runs a vector's Lua text (an expression list, else a chunk) in `e`.
local function run(text, e)
  local f = load("return " .. text, "=(call)", "t", e) or assert(load(text, "=(call)", "t", e))
  return f
end

local schemas = {} -- name -> bundle
for _, s in ipairs(V.schemas) do schemas[s.name] = H(s.bin_hex) end

T.test("the parser makes skynet's bundle of every schema (Debian's LPeg)", function()
  T.ok(package.searchpath("lpeg", package.cpath), "lpeg found after the configured lua_cpath")
  for _, s in ipairs(V.schemas) do
    T.eq(hex(parser.parse(s.text)), s.bin_hex, s.name)
    local ok = pcall(sproto.new, schemas[s.name])
    T.eq(ok, s.loadable, s.name .. " loadable")
  end
end)

T.test("schema cases: bundles and error texts", function()
  for _, c in ipairs(V.schema_cases) do
    if c.ok then
      T.eq(hex(parser.parse(c.text)), c.bin_hex, c.name)
    elseif c.error:find "redefined protocol tag" then
      -- which of the two protocols is named follows the table traversal
      T.match(select(2, pcall(parser.parse, c.text)), "redefined protocol tag 1 at %a+$", c.name)
    else
      raises_text(c.error, parser.parse, c.text)
    end
  end
  raises_text("syntax error at [my.sproto] line (2)", parser.parse, ".A {\n x : integer }", "my.sproto")
  raises_text("bad argument #1 to 'assert' (value expected)", sproto.new, parser.parse(""))
end)

local objects = {}
local function object(name)
  objects[name] = objects[name] or sproto.new(schemas[name])
  return objects[name]
end

T.test("encode: bytes, 0-packing, decoding and re-encoding of every case", function()
  for _, c in ipairs(V.encode) do
    local sp = object(c.schema)
    local value = run(c.lua, env())()
    if not c.ok then
      raises_text(c.error, sp.encode, sp, c.type, value)
    else
      local bytes = sp:encode(c.type, value)
      if c.deterministic then
        T.eq(hex(bytes), c.hex, c.name)
        T.eq(hex(sproto.pack(bytes)), c.packed_hex, c.name .. " packed")
      end
      local wire = H(c.hex)
      if c.decode_error then
        raises_text(c.decode_error, sp.decode, sp, c.type, wire)
      else
        local decoded, size = sp:decode(c.type, wire)
        T.eq(size, c.decoded_size, c.name .. " size")
        if c.decoded then T.eq(decoded, typed(c.decoded), c.name .. " decoded") end
        if c.reencode_identical and not c.reencode_order_dependent then
          T.eq(hex(sp:encode(c.type, decoded)), c.hex, c.name .. " re-encoded")
        end
        local _, psize = sp:pdecode(c.type, H(c.packed_hex))
        T.eq(psize, c.pdecode_size, c.name .. " pdecode size")
      end
    end
  end
end)

T.test("decode: crafted inputs, consumed sizes and errors", function()
  for _, c in ipairs(V.decode) do
    local sp = object(c.schema)
    if c.ok then
      local decoded, size = sp:decode(c.type, H(c.hex))
      T.eq(decoded, typed(c.decoded), c.name)
      T.eq(size, c.decoded_size, c.name .. " size")
    else
      raises_text(c.error, sp.decode, sp, c.type, H(c.hex))
    end
  end
end)

T.test("pack and unpack", function()
  for _, c in ipairs(V.pack) do
    local input = run(c.lua, env())()
    local packed = sproto.pack(input)
    T.eq(hex(packed), c.packed_hex, c.name)
    T.eq(hex(sproto.unpack(packed)), c.unpacked_hex, c.name .. " unpacked")
  end
  for _, c in ipairs(V.unpack) do
    if c.ok then
      T.eq(hex(sproto.unpack(H(c.hex))), c.result_hex, c.name)
    else
      raises_text(c.error, sproto.unpack, H(c.hex))
    end
  end
end)

local function check_results(c, f)
  local r = table.pack(pcall(f))
  if not c.ok then
    T.ok(not r[1], c.name .. " should fail")
    T.eq(tail(r[2]), tail(c.error), c.name)
    return
  end
  T.ok(r[1], c.name .. ": " .. tostring(r[2]))
  for i, want in ipairs(c.results) do
    T.eq(r[i + 1], typed(want), c.name .. " result " .. i)
  end
end

T.test("defaults", function()
  local sp = object("main")
  for _, c in ipairs(V.defaults) do
    check_results({ name = c.name, ok = c.ok, error = c.error, results = { c.result } },
      run(c.lua, env { sp = sp }))
  end
end)

T.test("the sproto API", function()
  local sp = object("main")
  for _, c in ipairs(V.api) do
    if c.name == "decode_with_size_argument" then
      local t, n = sp:decode("Person", H("0000aaaa"), 2)
      T.eq(t, {}, c.name)
      T.eq(n, 2, c.name)
    else
      check_results(c, run(c.lua, env { sp = sp }))
    end
  end
  T.eq(sproto.queryproto(sp, "echo").tag, 2)
  T.ok(sp:exist_type("package"))
  -- A C buffer and its size, and a table to fill (skynet.sharemap decodes this way).
  local wire = sp:encode("Person", { name = "buffer", age = 7 })
  local p, sz = driver.str2p(wire .. "trailing")
  local into = { kept = true }
  local t, used = sp:decode("Person", p, sz, into)
  T.ok(t == into, "filled the given table")
  T.eq(t, { name = "buffer", age = 7, kept = true })
  T.eq(used, #wire)
  skynet.trash(p, sz)
  p, sz = driver.str2p(sproto.pack(wire))
  T.eq(sproto.unpack(p, sz), sproto.unpack(sproto.pack(wire)), "unpack from a C buffer")
  T.eq(sp:pdecode("Person", p, sz).name, "buffer")
  skynet.trash(p, sz)
end)

T.test("RPC: a client and a server host step by step", function()
  local sp = object(V.rpc.schema)
  local e = env { sp = sp }
  local client_host, server_host, request = run(V.rpc.setup .. "; return client_host, server_host, request", e)()
  e.client_host, e.server_host, e.request = client_host, server_host, request
  for _, step in ipairs(V.rpc.steps) do
    local what = "step " .. step.step
    local r = table.pack(pcall(run(step.lua, e)))
    if not step.ok then
      T.ok(not r[1], what .. " should fail")
      T.eq(tail(r[2]), tail(step.error), what)
    else
      T.ok(r[1], what .. ": " .. tostring(r[2]))
      if step.package_hex then
        e.package = r[2]
        T.eq(hex(r[2]), step.package_hex, what)
        T.eq(hex(sproto.unpack(r[2])), step.unpacked_hex, what .. " unpacked")
      elseif step.type == "REQUEST" then
        T.eq(r[2], "REQUEST", what)
        T.eq(r[3], step.proto_name, what)
        T.eq(r[4], typed(step.args), what .. " args")
        T.eq(r[5] ~= nil, step.has_response_function, what .. " response function")
        T.eq(r[6], typed(step.ud), what .. " ud")
        e.response = r[5]
      else
        T.eq(r[2], "RESPONSE", what)
        T.eq(r[3], typed(step.session), what .. " session")
        T.eq(r[4], typed(step.result), what .. " result")
        T.eq(r[5], typed(step.ud), what .. " ud")
      end
    end
  end
end)

T.test("RPC: the conversation of skynet's examples (client.lua and agent.lua)", function()
  local c2s, s2c = object("example_c2s"), object("example_s2c")
  local client = s2c:host "package"
  local client_request = client:attach(c2s)
  local agent = c2s:host "package"
  local agent_request = agent:attach(s2c)
  local steps = V.example_conversation
  local package, response
  for i, step in ipairs(steps) do
    local what = "step " .. i .. " " .. (step.lua or step.note)
    if step.lua and step.lua:match "^request" then
      local name, session = step.lua:match '^request%("(%w+)", .-, (%d+)%)$'
      package = client_request(name, typed(step.args), math.tointeger(session))
      T.eq(hex(package), step.package_hex, what)
    elseif step.lua and step.lua:match "^response" then
      local reply = steps[i + 1]
      package = response(reply.result and typed(reply.result))
      T.eq(hex(package), step.package_hex, what)
    elseif step.lua and step.lua:match "^send_request" then
      package = agent_request(step.lua:match '"(%w+)"')
      T.eq(hex(package), step.package_hex, what)
    elseif step.lua then
      local host = step.who == "client" and client or agent
      local r = table.pack(host:dispatch(package))
      T.eq(r[1], step.type, what)
      if step.type == "REQUEST" then
        T.eq(r[2], step.proto_name, what)
        T.eq(r[3], typed(step.args), what .. " args")
        T.eq(r[4] ~= nil, step.has_response_function, what)
        response = r[4]
      else
        T.eq(r[2], typed(step.session), what)
        T.eq(r[3], typed(step.result), what .. " result")
      end
    end
  end
end)

T.test("sprotoloader: slots shared by every service of the process", function()
  local bin = schemas.main
  loader.save(bin, 1)
  T.eq(hex(loader.load(1):encode("Person", { name = "x" })), "010000000100000078")
  T.eq(getmetatable(loader.load(1)).__gc, nil, "a loaded schema has no __gc")
  local peer = skynet.newservice("sprotopeer")
  T.eq(skynet.call(peer, "lua", "encode", 1), "010000000100000078", "another service loads slot 1")
  raises_text("nil sproto at index 0", loader.load)
  raises_text("nil sproto at index 15", loader.load, 15)
  raises_text("Invalid global slot index 16", loader.load, 16)
  raises_text("Invalid global slot index -1", loader.load, -1)
  raises_text("Invalid global slot index 16", loader.save, bin, 16)
  loader.save(bin, 2)
  loader.save("junk", 2)
  raises_text("nil sproto at index 2", loader.load, 2)
  raises_text("Can't open sproto file", loader.register, "nonexistent/x.sproto", 3)
  local file = T.getenv("test_tmp") .. "/c2s.sproto"
  for _, s in ipairs(V.schemas) do
    if s.name == "example_c2s" then
      local f = assert(io.open(file, "w"))
      f:write(s.text)
      f:close()
    end
  end
  loader.register(file, 4)
  T.ok(loader.load(4):exist_proto("handshake"))
  local held = loader.load(1)
  loader.save(schemas.readme, 1)
  T.ok(loader.load(1):exist_type("Data"), "save replaces the slot")
  T.eq(hex(held:encode("Person", { name = "x" })), "010000000100000078", "the replaced schema lives on")
  T.eq(skynet.call(peer, "lua", "has_type", 1, "Data"), true, "the peer sees the replacement")
  skynet.kill(peer)
end)

T.test("bad input: clear errors, the service keeps running", function()
  local sp = object("main")
  for _, text in ipairs { "{", ".A { x 0 : integer", "\0\1\2", ".A { x 0 : *integer(y) }", string.rep("{", 1000) } do
    local ok, err = pcall(parser.parse, text)
    T.ok(not ok and type(err) == "string", "parse fails with a message: " .. tostring(err))
  end
  for _, junk in ipairs { "", "\0", "\255\255", "\1\0\0\0\255\255\255\127", "\1\0\1\0\0\0" } do
    T.eq(core.newproto(junk), nil, "no schema from junk " .. hex(junk))
  end
  -- Every prefix of a real message, and every byte flipped: decode raises or succeeds.
  local wire = sp:encode("All", {
    i = -5, s = "s", ia = { 1, 2 }, person = { name = "n" }, people = { { age = 1 } },
    items = { { id = 3 } }, kv = { k = 1 }, da = { 1.5 }, deca = { 1 }, far = 1, farther = "f",
  })
  for n = 0, #wire do
    pcall(sp.decode, sp, "All", wire:sub(1, n))
  end
  for i = 1, #wire do
    local bad = wire:sub(1, i - 1) .. string.char(wire:byte(i) ~ 0xff) .. wire:sub(i + 1)
    local ok, err = pcall(sp.decode, sp, "All", bad)
    T.ok(ok or type(err) == "string", "error text")
    pcall(sproto.unpack, bad)
  end
  -- (the function is named after the call site, as in skynet)
  raises_text("bad argument #1 to 'pack' (Need a string or userdata)", function() return sproto.pack(12) end)
  raises_text("Invalid unpack stream", sproto.unpack, "\255")
  raises_text("decode error", sp.decode, sp, "Person", "\1")
  T.eq(sp:decode("Person", sp:encode("Person", { name = "still here" })).name, "still here")
  -- A decimal beyond int64 saturates (it would be an undefined conversion); what it decodes to
  -- encodes again. NaN has no integer.
  local huge = sp:decode("All", sp:encode("All", { dec = 1e300 })).dec
  T.eq(huge, math.maxinteger / 1000)
  T.eq(sp:encode("All", { dec = huge }), sp:encode("All", { dec = 1e300 }))
  T.eq(sp:decode("All", sp:encode("All", { dec = -1e300 })).dec, math.mininteger / 1000)
  local ok, err = pcall(sp.encode, sp, "All", { dec = 0 / 0 })
  T.ok(not ok and err:find("All.dec%[0%] is not a number"), "NaN refused: " .. tostring(err))
end)

T.start()
