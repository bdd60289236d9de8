-- squeeze echo_handle: calls every function of the native modules at its memory limit
-- (skynet.memlimit in the main chunk), for tests/lua/cases/bindings_memlimit.lua.
--   "run"    -> a report: { missing = {...}, stale = {...}, calls = n, memory_errors = n,
--               functions = n, skipped = { [name] = why }, never_reached = {...} }
--   "inside", name -> runs the attempts of a function that needs a request to answer (ret,
--               retpack, response, ...) inside this request; the caller uses a deadline
--   "ping"   -> nothing (the service still works)
--
-- Each function is called many times inside pcall, with arguments that make it do its C++
-- work, while the state has only j bytes left for j on a sweep: allocations fail at every step
-- of its work in turn. A C++ object skipped by a Lua error (lua/protected.hpp) is a leak that
-- LeakSanitizer reports when the node exits (the asan build).
--
-- BINDINGS lists every module and function: a function a module exports that is not listed
-- (or a listed one that is gone) fails the case, so a binding added later must come here.
-- tests/lua/bindings_test.cpp checks that every native module is named here.
local skynet = require "skynet"
local core = require "skynet.core"
local deadline = require "skynet.deadline"
local driver = require "skynet.socketdriver"
local netpack = require "skynet.netpack"
local cluster = require "skynet.cluster.core"
local profile = require "skynet.profile"
local debugchannel = require "skynet.debugchannel"
local seri = require "skynet.seri"
local codecache = require "skynet.codecache"
local loader = require "skynet.loader"
local memory = require "skynet.memory"
local sdcore = require "skynet.sharedata.core"
local stcore = require "skynet.sharetable.core"
local dscore = require "skynet.datasheet.core"
local stm = require "skynet.stm"
local mc = require "skynet.multicast.core"
local sproto_core = require "sproto.core"
local crypt = require "skynet.crypt"
local md5core = require "md5.core"
local bson = require "bson"
local mongo_driver = require "skynet.mongo.driver"
local ltls = require "ltls.c"

local echo = tonumber((...))
local mtype = math.type
skynet.memlimit(4 * 1024 * 1024)

-- ---- the squeeze -------------------------------------------------------------------------

-- Memory is taken by `ballast` (strings) and `tail` (empty tables, 56 bytes each): releasing
-- n tables of the tail leaves n steps of room.
local ballast, tail = {}, {}
local function add_string(size) ballast[#ballast + 1] = string.rep("x", size) end
local function add_table() tail[#tail + 1] = {} end

local function release(n)
  for _ = 1, n do
    if #tail > 0 then
      tail[#tail] = nil
    else
      ballast[#ballast] = nil
    end
  end
end

-- Takes every byte left: strings, then (in the room of a few strings) empty tables.
local function fill()
  tail = {}
  if #ballast == 0 then
    for _, size in ipairs { 65536, 4096 } do
      while pcall(add_string, size) do end
    end
  end
  while pcall(add_string, 512) do end
  for _ = 1, 8 do ballast[#ballast] = nil end
  while pcall(add_table) do end
end

-- Headrooms swept: 0..32 small steps, then some larger ones.
local sweep = {}
for j = 0, 24 do sweep[#sweep + 1] = j end
for _, j in ipairs { 48, 96 } do sweep[#sweep + 1] = j end

local stats = { calls = 0, memory_errors = 0 }
local reached = {} -- name -> true once a call returned or raised something else than memory

local function invoke(f, args) return f(table.unpack(args, 1, args.n)) end

-- One attempt: fill, leave `room` steps, call. The outer pcall (called with room to spare)
-- catches what fails outside the inner one.
local function attempt(name, entry, room)
  release(32) -- room to make the arguments
  local args = table.pack(entry.args())
  local call = entry.call or entry.f
  fill()
  release(room)
  local ok, a, b, c, d = pcall(invoke, call, args)
  release(16) -- room for what follows
  stats.calls = stats.calls + 1
  if not ok and type(a) == "string" and a:find("not enough memory", 1, true) then
    stats.memory_errors = stats.memory_errors + 1
  else
    reached[name] = true
  end
  if entry.after then entry.after(args, ok, a, b, c, d) end
end

local function run_entry(name, entry)
  for _, room in ipairs(sweep) do
    local ok, err = pcall(attempt, name, entry, room)
    if not ok and not tostring(err):find("not enough memory", 1, true) then
      error(name .. ": " .. tostring(err))
    end
  end
  ballast, tail = {}, {}
  collectgarbage()
end

-- ---- what each call needs ------------------------------------------------------------------

local self = skynet.self()
local INVALID_ID = 999999 -- no socket has this id
local opened = {} -- socket ids to close at the end

local function keep_socket(_, ok, id)
  if ok and mtype(id) == "integer" then opened[#opened + 1] = id end
end
local function trash_block(_, ok, msg)
  if ok and type(msg) == "userdata" then skynet.trash(msg) end
end
local function noargs() end
local function block_of(s) return driver.str2p(s) end

local listen_id, listen_port = nil, nil
local udp_id = nil
local buffer = nil
local proto_id = 100
local env_count = 0
local channel = nil

-- Objects of the shared-data modules the calls read.
local sd_obj = sdcore.new({ 1, 2, x = { 3 } })
local sd_obj2 = sdcore.new({ 4 })
-- Gives the two objects back when the service's state closes (a global: nothing else
-- refers to it until then).
SD_RELEASE = setmetatable({}, { __gc = function()
  sdcore.delete(sd_obj)
  sdcore.delete(sd_obj2)
end })
local st_version = stcore.matrix("return { 1, x = { 2 } }")
local st_version2 = stcore.matrix("return { 3, x = { 4 } }")
local ds_doc = string.pack("<I4I4I4I4I4BBBBI4I4I4", 36, 1, 0, 1, 1, 1, 5, 0, 0, 1, 0, 2) .. "a\0x\0"
local stm_writer = stm.new("a message")
local function mc_holder() return mc.pack(skynet.pack("a message")) end
local function mc_close(_, ok, package) if ok then mc.close(package) end end
-- `.Person { name 0 : string  children 1 : *Person }  echo 1 { request Person }`, parsed.
local SPROTO_BUNDLE = (("0200000000004a0000004600000002000000000006000000506572736f6e3200000012"
  .. "00000004000000060001000200040000006e616d6518000000050000000100020004000400080000006368696c"
  .. "6472656e14000000100000000300000004000200040000006563686f"):gsub("..", function(h)
    return string.char(tonumber(h, 16))
  end))
local sproto_schema = assert(sproto_core.newproto(SPROTO_BUNDLE))
local sproto_person = assert(sproto_core.querytype(sproto_schema, "Person"))
local sproto_message = sproto_core.encode(sproto_person, { name = "x", children = { { name = "y" } } })
local function sproto_delete(_, ok, p)
  if ok and p then sproto_core.deleteproto(p) end
end
-- deleteproto and saveproto take the schema made for them; a call that failed before getting
-- there (growing the stack for the arguments) left it to us.
local function sproto_unused(args, ok)
  if not ok then sproto_core.deleteproto(args[1]) end
end

local tls_ctx = ltls.newctx()
local tls_client = ltls.newtls("client", tls_ctx, "example.test")
local function new_client() return ltls.newtls("client", tls_ctx, nil) end

local function plain(...)
  local args = table.pack(...)
  return { args = function() return table.unpack(args, 1, args.n) end }
end

-- A function that needs the request of the running coroutine: the attempts run inside a
-- request this service sends itself ("inside").
local function inside()
  return { inside = true }
end

local BINDINGS = {
  ["skynet"] = {
    address = plain(self),
    call = plain(echo, "lua", "echo", 1, "two", { 3 }),
    context = inside(),
    dispatch = { args = function() return "lua", skynet.dispatch("lua") end },
    dispatch_message = plain(skynet.PTYPE_RESPONSE, nil, 0, 0x7ffffff0, echo), -- unknown session
    dispatch_unknown_request = plain(),
    dispatch_unknown_response = plain(),
    endless = plain(),
    error = plain("squeeze", 1, true),
    exit = "ends the service (skynet.exit never returns)",
    fork = plain(function() end),
    genid = plain(),
    getenv = plain("thread"),
    harbor = plain(self),
    hpc = plain(),
    ignoreret = inside(),
    info_func = { args = function() return skynet.info_func() end },
    init = plain(function() end),
    init_service = "boot only: runs the start function and tells the launcher the service started",
    killthread = { args = function() return skynet.fork(function() end) end },
    localname = plain(".launcher"),
    mqlen = plain(),
    newservice = "launches a service at each call; its C++ work is call's, squeezed above",
    now = plain(),
    pack = { args = function() return 1, "two", { 3, x = { 4 } } end, after = trash_block },
    packstring = plain(1, "two", { 3, x = { 4 } }),
    queryservice = plain("echo"), -- launched as a unique service at the start
    rawcall = { args = function() return echo, "lua", skynet.packstring("echo", 1) end },
    rawsend = { args = function() return echo, "lua", skynet.packstring("noop") end },
    redirect = { args = function() return echo, 0, "lua", 0, skynet.packstring("noop") end },
    register_protocol = {
      args = function()
        proto_id = proto_id + 1
        return { name = "squeeze" .. proto_id, id = proto_id, pack = skynet.pack,
                 unpack = skynet.unpack }
      end,
    },
    response = inside(),
    ret = inside(),
    retpack = inside(),
    self = plain(),
    send = plain(echo, "lua", "noop", { 1, 2, 3 }, "four"),
    setenv = {
      args = function()
        env_count = env_count + 1
        return "squeeze_" .. env_count, "value"
      end,
    },
    sleep = plain(0),
    start = "boot only: installs the dispatcher and starts the service again",
    starttime = plain(),
    stat = plain("mqlen"),
    task = { args = function() return {} end },
    term = inside(), -- drops the running coroutine's request, as skynet's does
    time = plain(),
    timeout = plain(100000, function() end),
    tostring = { args = function() return skynet.pack("a message") end,
                 after = function(args) skynet.trash(args[1]) end },
    trace = inside(), -- tags the running coroutine: one of its own each time
    trace_timeout = plain(false),
    tracecall = { args = function() return "tag", echo, "lua", skynet.packstring("echo", 1) end },
    tracelog = plain("tag", "text", 1),
    traceproto = plain("lua", nil),
    tracetag = plain(),
    trash = { args = function() return skynet.pack("a message") end },
    uniqueservice = plain("echo"),
    unpack = plain(skynet.packstring(1, "two", { 3, x = { 4 } })),
    wait = { args = function()
      local token = {}
      -- The waker frees some ballast first, so that its own wakeup cannot fail for memory.
      skynet.timeout(1, function()
        release(64)
        skynet.wakeup(token)
      end)
      return token
    end },
    wakeup = plain({}),
    yield = plain(),
  },
  ["skynet.core"] = {
    send = { args = function() return echo, skynet.PTYPE_LUA, 0, skynet.packstring("noop") end },
    redirect = { args = function() return echo, self, skynet.PTYPE_LUA, 0, skynet.packstring("noop") end },
    genid = plain(),
    command = plain("QUERY", ".launcher"),
    intcommand = plain("STAT", "mqlen"),
    addresscommand = plain("QUERY", ".launcher"),
    callback = plain(skynet.dispatch_message),
    error = plain("squeeze core"),
    harbor = plain(self),
    pack = { args = function() return 1, { 2 } end, after = trash_block },
    packstring = plain(1, { 2 }),
    unpack = plain(skynet.packstring(1, { 2 })),
    tostring = { args = function() return skynet.pack("a message") end,
                 after = function(args) skynet.trash(args[1]) end },
    trash = { args = function() return skynet.pack("a message") end },
    now = plain(),
    hpc = plain(),
    trace = plain("tag", "text"),
  },
  ["skynet.deadline"] = {
    call = plain(500, echo, "lua", "echo", 1),
    rawcall = { args = function() return 500, echo, "lua", skynet.packstring("echo", 1) end },
  },
  ["skynet.socketdriver"] = {
    connect = { args = function() return "127.0.0.1", listen_port end, after = keep_socket },
    listen = { args = function() return "127.0.0.1", 0 end, after = keep_socket },
    bind = plain(100000), -- no such descriptor: the request still goes to the socket thread
    close = plain(INVALID_ID),
    shutdown = plain(INVALID_ID),
    start = plain(INVALID_ID),
    pause = plain(INVALID_ID),
    nodelay = plain(INVALID_ID),
    send = plain(INVALID_ID, { "joined ", "from ", "a table" }),
    lsend = plain(INVALID_ID, "a string"),
    udp = { args = function() return "127.0.0.1", 0 end, after = keep_socket },
    udp_connect = { args = function() return udp_id, "127.0.0.1", 9 end },
    udp_dial = { args = function() return "127.0.0.1", 9 end, after = keep_socket },
    udp_listen = { args = function() return "127.0.0.1", 0 end, after = keep_socket },
    udp_send = plain(INVALID_ID, "\1\0\9\127\0\0\1", "datagram"),
    info = plain(),
    sink = plain(INVALID_ID, self),
    udp_address = plain("\1\0\9\127\0\0\1"),
    resolve = plain("localhost"),
    unpack = plain("not a socket message", 20),
    drop = { args = function() return block_of("dropped") end },
    str2p = { args = function() return "some bytes" end, after = function(_, ok, p)
      if ok then driver.drop(p) end
    end },
    header = plain("\0\1"),
    buffer = plain(),
    push = { args = function()
      local p, sz = block_of("pushed bytes\n")
      return buffer, nil, p, sz
    end, after = function() driver.clear(buffer) end },
    pop = { args = function()
      local p, sz = block_of("popped bytes")
      driver.push(buffer, nil, p, sz)
      return buffer, nil, 6
    end, after = function() driver.clear(buffer) end },
    readall = { args = function()
      local p, sz = block_of("all of it")
      driver.push(buffer, nil, p, sz)
      return buffer, nil
    end, after = function() driver.clear(buffer) end },
    readline = { args = function()
      local p, sz = block_of("a line\nand more")
      driver.push(buffer, nil, p, sz)
      return buffer, {}, "\n"
    end, after = function() driver.clear(buffer) end },
    clear = { args = function()
      local p, sz = block_of("cleared")
      driver.push(buffer, nil, p, sz)
      return buffer
    end },
  },
  ["skynet.netpack"] = {
    -- Without a socket message there is no queue: these check their arguments and stop.
    filter = plain(nil, "not a socket message", 20),
    pop = plain(nil),
    clear = plain(nil),
    pack = { args = function() return "a packet" end, after = trash_block },
    tostring = { args = function() return netpack.pack("a packet") end },
  },
  ["skynet.cluster.core"] = {
    packrequest = plain(1, 1, "a request"),
    packpush = plain(1, 1, "a push"),
    packtrace = plain("tag"),
    unpackrequest = { -- a message: (address, session, msg, sz), msg ours to free
      args = function() return (cluster.packrequest(1, 1, "a request")):sub(3) end,
      after = function(_, ok, _, _, msg) if ok and type(msg) == "userdata" then skynet.trash(msg) end end,
    },
    packresponse = plain(1, true, "a response"),
    unpackresponse = plain((cluster.packresponse(1, true, "a response")):sub(3)),
    append = { args = function()
      local p, sz = block_of("appended")
      return {}, p, sz
    end },
    concat = { args = function() return { 6, "abc", "def" } end, after = trash_block },
    isname = plain("@name"),
    nodename = plain(),
    packrequestmsg = { args = function() return 1, 1, "a request" end, after = trash_block },
    packpushmsg = { args = function() return 1, 1, "a push" end, after = trash_block },
    packresponsemsg = { args = function() return 1, true, "a response" end, after = trash_block },
    joiner = plain(16),
    joinpart = { args = function()
      local p, sz = block_of("part")
      return cluster.joiner(4), p, sz
    end },
    joined = { args = function()
      local j = cluster.joiner(4)
      cluster.joinpart(j, block_of("part"))
      return j
    end, after = trash_block },
  },
  ["skynet.profile"] = {
    start = { args = function() return coroutine.create(function() end) end },
    stop = { args = function()
      local co = coroutine.create(function() end)
      profile.start(co)
      return co
    end },
    resume = { args = function() return coroutine.create(function() return 1 end) end },
    wrap = plain(function() end),
    yield = { args = noargs, call = function()
      local co = coroutine.create(function() profile.yield(1) end)
      return coroutine.resume(co)
    end },
  },
  ["skynet.debugchannel"] = {
    create = plain(),
    connect = { args = function() return (select(2, debugchannel.create())) end },
    sethook = plain(),
    dispatch_hook = plain(nil),
    resume = { args = function() return coroutine.create(function() end) end },
  },
  ["skynet.debugchannel/channel"] = {
    read = { args = function()
      channel:write("a line")
      return channel
    end },
    write = { args = function() return channel, "a line" end,
              after = function() while channel:read() do end end },
  },
  ["skynet.seri"] = {
    pack = { args = function() return { 1, "two", { 3 } } end, after = trash_block },
    packstring = plain({ 1, "two", { 3 } }, 4),
    unpack = plain(seri.packstring({ 1, "two", { 3 } }, 4)),
  },
  ["skynet.codecache"] = {
    clear = plain(),
    mode = plain(),
    loadfile = { args = function() return skynet.getenv("test_src") .. "/services/echo.lua" end },
  },
  ["skynet.loader"] = plain(""), -- the module is the loader: no service name, it raises
  ["skynet.sharedata.core"] = {
    new = { args = function() return { 1, x = { "two" } } end,
            after = function(_, ok, obj) if ok then sdcore.delete(obj) end end },
    delete = { args = function() return sdcore.new({ 1 }) end },
    incref = { args = function() return sd_obj end,
               after = function(_, ok) if ok then sdcore.decref(sd_obj) end end },
    decref = { args = function()
      sdcore.incref(sd_obj) -- the count decref gives back
      return sd_obj
    end },
    getref = plain(sd_obj),
    markdirty = plain(sd_obj2),
    isdirty = plain(sd_obj),
    index = plain(sd_obj, "x"),
    read = plain(sd_obj, "x"),
    indexer = plain(function() end),
    nextkey = plain(sd_obj, 2),
    len = plain(sd_obj),
    hashlen = plain(sd_obj),
    box = plain(sd_obj),
    update = { args = function() return sdcore.box(sd_obj), sd_obj2, {} end },
    needupdate = { args = function()
      local box = sdcore.box(sd_obj)
      sdcore.update(box, sd_obj2, {})
      return box
    end },
  },
  ["skynet.sharetable.core"] = {
    matrix = { args = function() return "return { 1, x = { 2 }, f = function(a) return a end }", 1 end,
               after = function(_, ok, box) if ok then box:close() end end },
    clone = plain(st_version:getptr()),
    is_sharedtable = { args = function() return stcore.clone(st_version:getptr()) end },
    next = { args = function() return stcore.clone(st_version:getptr()) end },
    stackvalues = { args = function()
      local co = coroutine.create(function(...) coroutine.yield(...) end)
      coroutine.resume(co, 1, 2)
      return co, {}
    end },
    update = { args = function()
      local _ = stcore.clone(st_version:getptr()).x -- a proxy and a child to move
      return st_version:getptr(), st_version2:getptr()
    end },
  },
  ["skynet.datasheet.core"] = {
    stringpointer = plain(ds_doc),
    count = plain(dscore.stringpointer(ds_doc)),
    fill = plain(dscore.stringpointer(ds_doc), 0, {}, function() return {} end),
  },
  ["skynet.stm"] = {
    new = plain("a message"),
    copy = { args = function() return stm_writer end,
             after = function(_, ok, ref) if ok then stm.newcopy(ref) end end },
    newcopy = { args = function() return stm.copy(stm_writer) end },
  },
  ["skynet.multicast.core"] = {
    pack = { args = function() return skynet.pack("a message") end,
             after = function(_, ok, holder) if ok then mc.close(mc.bind(holder, 1)) end end },
    packremote = { args = function() return skynet.pack("a message") end,
                   after = function(args, ok, holder)
                     skynet.trash(args[1], args[2])
                     if ok then mc.close(mc.bind(holder, 1)) end
                   end },
    unpack = { args = mc_holder, after = function(args) mc.close(mc.bind(args[1], 1)) end },
    bind = { args = function() return mc_holder(), 1 end, after = mc_close },
    close = { args = function() return mc.bind(mc_holder(), 1) end,
              after = function(args, ok) if not ok then mc.close(args[1]) end end },
    remote = { args = function() return mc_holder() end,
               after = function(args, ok, data, size)
                 if ok then skynet.trash(data, size) else mc.close(mc.bind(args[1], 1)) end
               end },
    nextid = plain(0),
  },
  ["sproto.core"] = {
    newproto = { args = function() return SPROTO_BUNDLE end, after = sproto_delete },
    deleteproto = { args = function() return sproto_core.newproto(SPROTO_BUNDLE) end,
                    after = sproto_unused },
    dumpproto = "prints the schema to stdout (from a C++ string: no Lua allocation)",
    querytype = plain(sproto_schema, "Person"),
    protocol = plain(sproto_schema, "echo"),
    encode = plain(sproto_person, { name = "x", children = { { name = "y" } } }),
    decode = plain(sproto_person, sproto_message),
    pack = plain(sproto_message),
    unpack = plain(sproto_core.pack(sproto_message)),
    saveproto = { args = function() return sproto_core.newproto(SPROTO_BUNDLE), 15 end,
                  after = sproto_unused },
    loadproto = plain(15),
    default = plain(sproto_person),
  },
  ["skynet.crypt"] = {
    base64decode = plain("Zm9vYmFy"),
    base64encode = plain("foobar"),
    desdecode = plain("12345678", crypt.desencode("12345678", "some text")),
    desencode = plain("12345678", "some text"),
    dhexchange = plain("12345678"),
    dhsecret = plain("12345678", "abcdefgh"),
    hashkey = plain("some text"),
    hexdecode = plain("0123abcd"),
    hexencode = plain("some text"),
    hmac64 = plain("12345678", "abcdefgh"),
    hmac64_md5 = plain("12345678", "abcdefgh"),
    hmac_hash = plain("12345678", "some text"),
    hmac_sha1 = plain("key", "some text"),
    randomkey = plain(),
    sha1 = plain("some text"),
    xor_str = plain("some text", "key"),
  },
  ["bson"] = {
    encode = plain({ a = 1, b = { 1, 2, "three" }, c = { x = true, y = bson.int64(4) } }),
    encode_order = plain("a", 1, "b", { 2, 3 }, "c", "four"),
    decode = { args = function() return bson.encode({ a = 1, b = { 1, 2 }, c = { x = "y" } }) end },
    date = plain(100),
    timestamp = plain(1, 2),
    regex = plain("a.c", "i"),
    binary = plain("some bytes"),
    objectid = plain(),
    int64 = plain(5),
    to_lightuserdata = { args = function() return bson.encode({ a = 1 }) end },
    type = plain(bson.objectid "00112233445566778899aabb"),
  },
  ["skynet.mongo.driver"] = {
    op_msg = plain(1, 0, bson.encode({ ping = 1 })),
    length = plain("\20\0\0\0"),
    reply = plain(mongo_driver.op_msg(1, 0, bson.encode({ ok = 1 })):sub(5)),
  },
  ["md5.core"] = {
    sum = plain("some text"),
    exor = plain("abc", "def"),
    crypt = plain("some text", "key", "seed"),
    decrypt = plain(md5core.crypt("some text", "key", "seed"), "key"),
  },
  ["ltls.c"] = {
    newctx = plain(),
    newtls = plain("client", tls_ctx, "example.test"),
  },
  ["ltls.c/ctx"] = {
    set_cert = plain(tls_ctx, "no-such-cert.pem", "no-such-key.pem"),
    set_ciphers = plain(tls_ctx, "HIGH"),
  },
  ["ltls.c/tls"] = {
    handshake = { args = new_client },
    finished = plain(tls_client),
    read = plain(tls_client, ""),
    write = { args = function() return new_client(), "some text" end },
    set_ext_host_name = plain(tls_client, "example.test"),
    close = { args = new_client },
  },
  ["skynet.memory"] = {
    info = plain(),
    total = plain(),
    block = plain(),
    current = plain(),
    jestat = plain(),
    dump = plain(),
    profactive = plain(),
  },
}

local MODULES = {
  ["skynet"] = skynet, ["skynet.core"] = core, ["skynet.deadline"] = deadline,
  ["skynet.socketdriver"] = driver, ["skynet.netpack"] = netpack,
  ["skynet.cluster.core"] = cluster, ["skynet.profile"] = profile,
  ["skynet.debugchannel"] = debugchannel, ["skynet.seri"] = seri,
  ["skynet.codecache"] = codecache, ["skynet.loader"] = loader, ["skynet.memory"] = memory,
  ["skynet.sharedata.core"] = sdcore, ["skynet.sharetable.core"] = stcore,
  ["skynet.datasheet.core"] = dscore, ["skynet.stm"] = stm, ["skynet.multicast.core"] = mc,
  ["sproto.core"] = sproto_core,
  ["skynet.crypt"] = crypt, ["md5.core"] = md5core, ["bson"] = bson,
  ["skynet.mongo.driver"] = mongo_driver,
  ["ltls.c"] = ltls,
}
-- method tables of userdata, checked like modules
local METHODS = {
  ["ltls.c/ctx"] = getmetatable(tls_ctx).__index,
  ["ltls.c/tls"] = getmetatable(tls_client).__index,
}

local function is_binding(module, name, f)
  if type(f) ~= "function" or debug.getinfo(f, "S").what ~= "C" then return false end
  return not (module == "skynet" and name == "pcall") -- Lua's own, for skynet's callers
end

-- Every exported C function listed, and every listed one exported.
local function coverage(report)
  local function check(module, exported, listed)
    for name, f in pairs(exported) do
      if is_binding(module, name, f) and listed[name] == nil then
        report.missing[#report.missing + 1] = module .. "." .. name
      end
    end
    for name in pairs(listed) do
      if not is_binding(module, name, exported[name]) then
        report.stale[#report.stale + 1] = module .. "." .. name
      end
    end
  end
  for module, listed in pairs(BINDINGS) do
    local exported = MODULES[module]
    if module == "skynet.debugchannel/channel" then
      exported = getmetatable(channel).__index
    end
    exported = METHODS[module] or exported
    if exported == nil then
      report.stale[#report.stale + 1] = module
    elseif type(exported) == "function" then
      if not is_binding(module, module, exported) then report.stale[#report.stale + 1] = module end
    else
      check(module, exported, listed)
    end
  end
  for module in pairs(MODULES) do
    if BINDINGS[module] == nil then report.missing[#report.missing + 1] = module end
  end
  table.sort(report.missing)
  table.sort(report.stale)
end

-- Every (name, entry) to run, in a stable order.
local function entries()
  local out = {}
  for module, listed in pairs(BINDINGS) do
    local exported = MODULES[module]
    if module == "skynet.debugchannel/channel" then exported = getmetatable(channel).__index end
    exported = METHODS[module] or exported
    if type(exported) == "function" then
      listed.f = exported
      out[#out + 1] = { module, listed }
    else
      for name, entry in pairs(listed) do
        if type(entry) == "table" then entry.f = exported[name] end
        out[#out + 1] = { module .. "." .. name, entry }
      end
    end
  end
  table.sort(out, function(a, b) return a[1] < b[1] end)
  return out
end

local CMD = {}

function CMD.run()
  local socket = require "skynet.socket"
  local id, _, port = socket.listen("127.0.0.1", 0)
  listen_id, listen_port = id, port
  udp_id = driver.udp("127.0.0.1", 0)
  buffer = driver.buffer()
  channel = debugchannel.create()
  local report = { missing = {}, stale = {}, skipped = {}, never_reached = {} }
  -- Only emergency collections from here on: a regular one shrinks the stacks and call lists
  -- that the calls below would then have to grow again, failing before they get anywhere.
  collectgarbage("stop")
  coverage(report)
  local functions = 0
  for _, e in ipairs(entries()) do
    local name, entry = e[1], e[2]
    functions = functions + 1
    if type(entry) == "string" then
      report.skipped[name] = entry
    elseif entry.inside then
      local short = name:match("[^.]+$")
      local ok, err = pcall(deadline.call, 6000, self, "lua", "inside", name, short)
      if not ok then error(name .. ": " .. tostring(err)) end
    elseif entry.f then
      run_entry(name, entry)
    end
  end
  for _, e in ipairs(entries()) do
    if type(e[2]) == "table" and not reached[e[1]] then
      report.never_reached[#report.never_reached + 1] = e[1]
    end
  end
  for _, s in ipairs(opened) do driver.close(s) end
  driver.close(udp_id)
  driver.close(listen_id)
  sproto_core.deleteproto(sproto_schema)
  collectgarbage("restart")
  report.functions = functions
  report.calls = stats.calls
  report.memory_errors = stats.memory_errors
  skynet.retpack(report)
end

-- A function that serves the request of the running coroutine (or, for trace, marks it): each
-- attempt runs in a request of its own, answered here if the attempt did not.
local INSIDE_ARGS = {
  ret = function() return skynet.packstring("answer") end,
  retpack = function() return "answer", 1 end,
  trace = function() return "squeeze" end,
  term = function() return 0x00fffff0 end,
}

function CMD.inside(name, short)
  for _, room in ipairs(sweep) do
    if short == "ignoreret" or short == "term" then -- the request it drops is never answered
      skynet.send(self, "lua", "attempt_inside", name, short, room)
      skynet.sleep(1)
    else
      -- (a response closure that failed for memory is spent: its request is never answered)
      pcall(deadline.call, 100, self, "lua", "attempt_inside", name, short, room)
    end
    release(32)
  end
  ballast, tail = {}, {}
  skynet.retpack(true)
end

function CMD.attempt_inside(name, short, room)
  local resp = short == "response" and skynet.response() or nil
  local f = resp or skynet[short]
  local args = table.pack((INSIDE_ARGS[short] or noargs)())
  if resp then args = table.pack(true, "answered", { 1 }) end
  local ok, err
  pcall(function()
    fill()
    release(room)
    ok, err = pcall(invoke, f, args)
    release(32)
  end)
  stats.calls = stats.calls + 1
  if not ok and tostring(err):find("not enough memory", 1, true) then
    stats.memory_errors = stats.memory_errors + 1
  else
    reached[name] = true
  end
  if resp then
    pcall(resp, false) -- a closure not used yet still owes the answer
  else
    pcall(skynet.ret) -- answers a request still owed
  end
end

function CMD.ping() skynet.ret() end

skynet.start(function()
  skynet.uniqueservice("echo") -- what queryservice asks for: asked before it exists, it waits
  skynet.dispatch("lua", function(_, _, cmd, ...)
    local f = CMD[cmd]
    if f then f(...) end
  end)
end)
