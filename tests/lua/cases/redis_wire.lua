-- skynet.db.redis against scripted fake servers (tests/lua/services/redis_fake.lua): the
-- exact request bytes, every reply kind, the login sequence, and hostile or broken servers
-- (docs/REDIS.md: commands, replies, hardening).
local skynet = require "skynet"
local socket = require "skynet.socket"
local sc = require "skynet.socketchannel"
local redis = require "skynet.db.redis"
local T = require "testlib"

-- A fresh fake server with this script; returns its handle and port.
local function fake(script)
  local h = skynet.newservice "redis_fake"
  return h, skynet.call(h, "lua", "start", script)
end

local function state(h)
  return skynet.call(h, "lua", "state")
end

local function connect(port, conf)
  conf = conf or {}
  conf.host, conf.port = "127.0.0.1", port
  return redis.connect(conf)
end

local function stop(h, db)
  if db and getmetatable(db) then db:disconnect() end
  skynet.call(h, "lua", "stop")
  skynet.kill(h)
end

T.test("request bytes: no argument, one, several with numbers, nil, table with n, pipeline", function()
  local h, port = fake {}
  local db = connect(port)
  db:ping()
  db:get "key"
  db:set("key", 1.5)
  db:hset("h", 1, 2.0, true)
  db:del(nil, "ignored")
  db:set("k", nil)
  db:set("k", nil, "v")
  db:rpush { "list", "a", "b", n = 2 }
  db:mset { "a", 1, "b", 2 }
  db:pipeline { { "set", "a", 1 }, { "GeT", "a", nil, "dropped" } }
  db:exists "e"
  db:sismember("s", 7)
  T.eq(state(h).commands, {
    "*1\r\n$4\r\nPING\r\n",
    "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n",
    "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\n1.5\r\n",
    "*5\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\n1\r\n$3\r\n2.0\r\n$4\r\ntrue\r\n",
    "*1\r\n$3\r\nDEL\r\n",
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-1\r\n",
    "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$-1\r\n$1\r\nv\r\n",
    "*3\r\n$5\r\nRPUSH\r\n$4\r\nlist\r\n$1\r\na\r\n",
    "*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
    "*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n",
    "*2\r\n$3\r\nGeT\r\n$1\r\na\r\n",
    "*2\r\n$6\r\nEXISTS\r\n$1\r\ne\r\n",
    "*3\r\n$9\r\nSISMEMBER\r\n$1\r\ns\r\n$1\r\n7\r\n",
  })
  T.eq(state(h).connections, 1, "one connection for everything")
  stop(h, db)
end)

T.test("methods are uppercased, created on first use and cached", function()
  local h, port = fake {}
  local db = connect(port)
  local methods = getmetatable(db).__index
  T.eq(rawget(methods, "someCommand"), nil)
  db:someCommand "x"
  local f = rawget(methods, "someCommand")
  T.eq(type(f), "function")
  db:someCommand "y"
  T.eq(rawget(methods, "someCommand"), f)
  T.eq(state(h).commands[2], "*2\r\n$11\r\nSOMECOMMAND\r\n$1\r\ny\r\n")
  stop(h, db)
end)

T.test("login: AUTH user password, then SELECT db, before the first command", function()
  local h, port = fake {}
  local db = connect(port, { username = "alice", auth = "s3cret", db = 3 })
  db:ping()
  T.eq(state(h).commands, {
    "*3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n$6\r\ns3cret\r\n",
    "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n",
    "*1\r\n$4\r\nPING\r\n",
  })
  stop(h, db)
  h, port = fake {}
  db = connect(port, { auth = "pw" })
  db:ping()
  T.eq(state(h).commands, { "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", "*1\r\n$4\r\nPING\r\n" })
  stop(h, db)
end)

T.test("login: an error reply to AUTH makes connect raise sc.error", function()
  local h, port = fake { "-WRONGPASS invalid username-password pair or user is disabled.\r\n" }
  local from = T.mark()
  local ok, err = pcall(connect, port, { auth = "bad" })
  T.eq(ok, false)
  T.ok(err == sc.error, "sc.error, got " .. tostring(err))
  T.log("socket: auth failed .*WRONGPASS invalid username%-password pair", from)
  stop(h)
end)

T.test("replies: status, error, integers, bulk, nil, empty and nested arrays, booleans", function()
  local deep = string.rep("*1\r\n", 1000) .. ":1\r\n"
  local h, port = fake {
    "+OK\r\n",
    "-ERR something went wrong\r\n",
    ":42\r\n",
    ":-7\r\n",
    ":99999999999999999999\r\n",
    "$5\r\nhello\r\n",
    "$0\r\n\r\n",
    "$5\r\na\r\nb\0\r\n",
    "$-1\r\n",
    "*-1\r\n",
    "*0\r\n",
    "*3\r\n*2\r\n:1\r\n$1\r\na\r\n+x\r\n$-1\r\n",
    "*3\r\n+OK\r\n-ERR bad value\r\n:2\r\n",
    ":1\r\n",
    ":0\r\n",
    ":1\r\n",
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    deep,
  }
  local db = connect(port)
  T.eq(db:c1(), "OK")
  T.raises(": ERR something went wrong$", db.c2, db)
  T.eq(db:c3(), 42)
  T.eq(db:c4(), -7)
  T.eq(db:c5(), 1e20, "a too large integer becomes a float")
  T.eq(db:c6(), "hello")
  T.eq(db:c7(), "")
  T.eq(db:c8(), "a\r\nb\0", "bulk strings are binary")
  T.eq(db:c9(), nil)
  T.eq(db:c10(), nil)
  T.eq(db:c11(), {})
  T.eq(db:c12(), { { 1, "a" }, "x" })
  local ok, err = pcall(db.c13, db)
  T.eq(ok, false)
  T.eq(err, { "OK", "ERR bad value", 2 }, "an array with an error element raises the array")
  T.eq(db:exists "a", true)
  T.eq(db:exists "b", false)
  T.eq(db:sismember("s", "m"), true)
  T.raises(": WRONGTYPE Operation against a key holding the wrong kind of value$", db.exists, db, "l")
  local v = db:c18()
  for _ = 1, 1000 do v = v[1] end
  T.eq(v, 1, "1000 nested arrays are fine")
  T.eq(state(h).connections, 1, "errors and odd replies keep the connection")
  stop(h, db)
end)

T.test("pipeline: replies in resp (appended) or the last one; earlier errors hidden", function()
  local h, port = fake { "+OK\r\n", "-ERR mid\r\n", ":3\r\n", "+OK\r\n", "-ERR mid\r\n", ":3\r\n",
    ":1\r\n", "-ERR last\r\n" }
  local db = connect(port)
  local ops = { { "a" }, { "b" }, { "c" } }
  local resp = { "kept" }
  T.eq(db:pipeline(ops, resp), { "kept", { ok = true, out = "OK" }, { ok = false, out = "ERR mid" },
    { ok = true, out = 3 } })
  T.eq(db:pipeline(ops), 3)
  T.raises(": ERR last$", db.pipeline, db, { { "x" }, { "y" } })
  T.raises("pipeline is null", db.pipeline, db, {})
  T.raises("pipeline: command 2 is empty", db.pipeline, db, { { "x" }, {} })
  stop(h, db)
end)

-- Sends n commands from n coroutines at once; returns their promises in order.
local function concurrent(db, n)
  local calls = {}
  for i = 1, n do
    calls[i] = T.spawn(db.get, db, "k" .. i)
  end
  return calls
end

T.test("an unknown reply type fails every pending caller and closes the connection", function()
  local h, port = fake { "+first\r\n", "%3\r\n", "+never\r\n", "+never\r\n", "+again\r\n" }
  local db = connect(port)
  local calls = concurrent(db, 4)
  T.eq(calls[1]:value(), "first")
  for i = 2, 4 do
    T.match(calls[i]:err(), "redis protocol error: unknown reply type \"%%3\"$")
  end
  T.eventually(function() return state(h).closed == 1 end, nil, "the client closed")
  T.eq(db:get "k", "again", "the next command reconnects and reads a fresh stream")
  T.eq(state(h).connections, 2)
  stop(h, db)
end)

T.test("a reply cut in the middle, then closed: sc.error, then a new connection", function()
  local h, port = fake { { reply = "$10\r\nabc", close = true }, "$2\r\nok\r\n" }
  local db = connect(port)
  local ok, err = pcall(db.get, db, "k")
  T.eq(ok, false)
  T.ok(err == sc.error, "sc.error, got " .. tostring(err))
  T.eq(db:get "k", "ok")
  T.eq(state(h).connections, 2)
  stop(h, db)
end)

-- Each reply is a protocol error: the caller fails, the connection is closed, the next
-- command gets a new one.
local broken = {
  { "$99999999999\r\n", "bad length \"%$99999999999\"" },
  { "*99999999999\r\n", "bad length \"%*99999999999\"" },
  { "$536870913\r\n", "bad length" }, -- 512 MiB + 1
  { "$-5\r\n", "bad length \"%$%-5\"" },
  { "*-2\r\n", "bad length" },
  { "$abc\r\n", "bad length \"%$abc\"" },
  { "$1.5\r\n", "bad length" },
  { ":12abc\r\n", "bad integer \":12abc\"" },
  { "$3\r\nabcXY", "bulk string without CRLF" },
  { "\r\n", "unknown reply type \"\"" },
  { "hello\r\n", "unknown reply type \"hello\"" },
  { string.rep("*1\r\n", 1001) .. ":1\r\n", "arrays nested too deep" },
}

T.test("oversized, negative and non-numeric lengths, deep nesting: protocol errors", function()
  local script = {}
  for i, case in ipairs(broken) do
    script[2 * i - 1] = case[1]
    script[2 * i] = "+fine\r\n"
  end
  local h, port = fake(script)
  local db = connect(port)
  for i, case in ipairs(broken) do
    local err = T.raises("redis protocol error: " .. case[2], db.get, db, "k")
    T.ok(not err:find("\n"), "one line")
    T.eventually(function() return state(h).closed == i end, nil, "the client closed after case " .. i)
    T.eq(db:get "k", "fine", "reconnected after case " .. i)
  end
  T.eq(state(h).connections, #broken + 1)
  T.ok(collectgarbage "count" < 64 * 1024, "no giant allocation")
  stop(h, db)
end)

T.test("a line without CRLF is refused past 64 KiB, not buffered without end", function()
  local h, port = fake { "+" .. string.rep("a", 1024 * 1024), "+fine\r\n" }
  local db = connect(port)
  local err = T.raises("a line longer than 65536 bytes", db.get, db, "k")
  T.eventually(function() return state(h).closed == 1 end, nil, "the client closed")
  T.eq(db:get "k", "fine", "a new connection")
  stop(h, db)
end)

T.test("the server closes after answering half a pipeline", function()
  local h, port = fake { "+one\r\n", "+two\r\n", { close = true }, "+again\r\n" }
  local db = connect(port)
  local ok, err = pcall(db.pipeline, db, { { "a" }, { "b" }, { "c" }, { "d" } }, {})
  T.eq(ok, false)
  T.ok(err == sc.error, "sc.error, got " .. tostring(err))
  T.eq(db:get "k", "again")
  stop(h, db)
  -- the same with four callers: the first two get their replies, the others sc.error
  h, port = fake { "+one\r\n", "+two\r\n", { close = true } }
  db = connect(port)
  local calls = concurrent(db, 4)
  T.eq(calls[1]:value(), "one")
  T.eq(calls[2]:value(), "two")
  for i = 3, 4 do
    local r = calls[i]:wait()
    T.eq(r[1], false)
    T.ok(r[2] == sc.error, "caller " .. i .. " gets sc.error, got " .. tostring(r[2]))
  end
  stop(h, db)
end)

T.test("a server that never answers: with conf.timeout the request fails", function()
  local h, port = fake { { silent = true }, "+late\r\n" }
  local db = connect(port, { timeout = 50 })
  local started = skynet.now()
  T.raises("socketchannel: timeout$", db.get, db, "k")
  T.ok(skynet.now() - started >= 40, "waited about the timeout")
  T.eventually(function() return state(h).closed == 1 end, nil, "the connection is closed")
  T.eq(db:get "k", "late", "the next command reconnects")
  stop(h, db)
end)

T.test("disconnect strips the methods; nothing is closed by collection", function()
  local h, port = fake {}
  local db = connect(port)
  db:ping()
  db:disconnect()
  T.raises("attempt to call a nil value %(method 'ping'%)", function() return db:ping() end)
  T.eventually(function() return state(h).closed == 1 end, nil, "closed by disconnect")
  stop(h)
end)

T.test("refused port: connect raises sc.error and logs Connect failed", function()
  local id, _, port = socket.listen("127.0.0.1", 0)
  socket.close(id)
  local from = T.mark()
  local ok, err = pcall(connect, port)
  T.eq(ok, false)
  T.ok(err == sc.error, "sc.error, got " .. tostring(err))
  T.eq(tostring(err), "[Error: socket]")
  T.log("Connect failed Connection refused 127%.0%.0%.1 " .. port .. "$", from)
end)

T.start()
