-- skynet.db.redis against a real redis-server started by tests/support/with_redis.sh:
-- the redis checklist of docs/TESTING.md (the byte-level items are in redis_wire.lua).
--! test_redis_port = "$REDIS_PORT"
local skynet = require "skynet"
local sc = require "skynet.socketchannel"
local redis = require "skynet.db.redis"
local T = require "testlib"

local port = assert(math.tointeger(skynet.getenv "test_redis_port"), "no test_redis_port")

local function connect(conf)
  conf = conf or {}
  conf.host, conf.port = "127.0.0.1", port
  return redis.connect(conf)
end

local admin -- a connection to db 0 for setup and inspection

T.test("set/get/incr/del, a missing key, exists and sismember, hgetall, an empty list", function()
  admin = connect()
  local db = connect { db = 1 }
  db:flushdb()
  T.eq(db:set("a", "hello"), "OK")
  T.eq(db:get "a", "hello")
  T.eq(db:get "missing", nil)
  T.eq(db:incr "n", 1)
  T.eq(db:incrby("n", 41), 42)
  T.eq(db:exists "a", true)
  T.eq(db:exists "missing", false)
  T.eq(db:sadd("s", "one", "two"), 2)
  T.eq(db:sismember("s", "one"), true)
  T.eq(db:sismember("s", "three"), false)
  T.eq(db:hset("h", "f1", 1, "f2", 2.5), 2)
  local flat = db:hgetall "h"
  T.eq(#flat, 4, "hgetall is a flat array")
  local fields = {}
  for i = 1, #flat, 2 do fields[flat[i]] = flat[i + 1] end
  T.eq(fields, { f1 = "1", f2 = "2.5" })
  T.eq(db:lrange("nolist", 0, -1), {})
  T.eq(db:del("a", "n"), 2)
  T.eq(db:get "a", nil)
  T.eq(admin:exists "s", false, "the keys are in db 1")
  local big = string.rep("x\r\n\0", 256 * 1024)
  T.eq(db:set("big", big), "OK")
  T.eq(db:get "big", big, "a 1 MiB binary value")
  db:disconnect()
end)

T.test("WRONGTYPE and an unknown command raise with the message; the connection stays", function()
  local db = connect { db = 1 }
  db:rpush("list", "x")
  local id = db:client "id"
  T.raises(": WRONGTYPE Operation against a key holding the wrong kind of value$", db.get, db, "list")
  T.raises(": ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' $",
    db.nosuchcommand, db, "x")
  T.eq(db:client "id", id, "same connection")
  db:disconnect()
end)

T.test("argument forms: a table, t.n, numbers and booleans as text", function()
  local db = connect { db = 1 }
  db:del("th", "tl", "num")
  T.eq(db:hset { "th", "f", 1 }, 1)
  T.eq(db:hget("th", "f"), "1")
  T.eq(db:rpush { "tl", "a", "b", "c", n = 2 }, 1, "n = 2 sends the key and one value")
  T.eq(db:lrange("tl", 0, -1), { "a" })
  db:set("num", 1.0)
  T.eq(db:get "num", "1.0")
  db:set("num", true)
  T.eq(db:get "num", "true")
  db:disconnect()
end)

T.test("MULTI/QUEUED/EXEC; an execution-time error raises the EXEC array", function()
  local db = connect { db = 1 }
  db:del("m", "m2")
  T.eq(db:multi(), "OK")
  T.eq(db:set("m", 10), "QUEUED")
  T.eq(db:incr "m", "QUEUED")
  T.eq(db:exec(), { "OK", 11 })
  db:multi()
  db:set("m2", "text")
  db:incr "m2"
  db:get "m2"
  local ok, err = pcall(db.exec, db)
  T.eq(ok, false)
  T.eq(err, { "OK", "ERR value is not an integer or out of range", "text" })
  db:disconnect()
end)

T.test("pipeline with and without resp; an error in the middle and at the end", function()
  local db = connect { db = 1 }
  db:del("p", "plist")
  db:rpush("plist", "x")
  local resp = db:pipeline({
    { "set", "p", 1 },
    { "incr", "plist" },
    { "incrby", "p", 2 },
    { "get", "p" },
  }, {})
  T.eq(resp, {
    { ok = true, out = "OK" },
    { ok = false, out = "WRONGTYPE Operation against a key holding the wrong kind of value" },
    { ok = true, out = 3 },
    { ok = true, out = "3" },
  })
  T.eq(db:pipeline { { "incr", "plist" }, { "get", "p" } }, "3", "the middle error is hidden")
  T.raises(": WRONGTYPE Operation against a key holding the wrong kind of value$",
    db.pipeline, db, { { "get", "p" }, { "incr", "plist" } })
  db:disconnect()
end)

T.test("a nil argument: Redis rejects it and closes; the next command reconnects", function()
  local db = connect { db = 1 }
  db:set("kept", "yes")
  local id = db:client "id"
  local from = T.mark()
  T.raises(": ERR Protocol error: invalid bulk length$", db.set, db, "k", nil)
  T.log("socket closed by peer : +127%.0%.0%.1 " .. port .. "$", from)
  T.ok(db:client "id" ~= id, "a new connection")
  T.eq(db:get "kept", "yes", "still in db 1")
  db:disconnect()
end)

T.test("username and password (an ACL user) and db; a wrong password fails connect", function()
  admin:acl("setuser", "tester", "on", ">secret", "~*", "&*", "+@all")
  local db = connect { username = "tester", auth = "secret", db = 2 }
  T.eq(db:acl "whoami", "tester")
  db:set("where", "db2")
  T.eq(admin:get "where", nil)
  db:disconnect()
  local from = T.mark()
  local ok, err = pcall(connect, { username = "tester", auth = "wrong" })
  T.eq(ok, false)
  T.ok(err == sc.error, "sc.error, got " .. tostring(err))
  T.log("socket: auth failed .*: WRONGPASS invalid username%-password pair", from)
  T.log("Connect failed no more backup host 127%.0%.0%.1 " .. port .. "$", from)
end)

T.test("CLIENT KILL: the next command reconnects, still in the selected db", function()
  local db = connect { db = 3 }
  db:set("here", "db3")
  local id = db:client "id"
  local from = T.mark()
  T.eq(admin:client("kill", "id", id), 1)
  T.log("socket closed by peer : +127%.0%.0%.1 " .. port .. "$", from)
  T.eq(db:get "here", "db3")
  T.ok(db:client "id" ~= id, "a new connection")
  db:disconnect()
end)

-- Waits until the server counts these subscriptions.
local function subscribed(channels, patterns)
  T.eventually(function()
    local counts = admin:pubsub("numsub", table.unpack(channels))
    for i = 2, #counts, 2 do
      if counts[i] < 1 then return false end
    end
    return admin:pubsub "numpat" >= patterns
  end, nil, "subscriptions active")
end

T.test("watch: messages and pmessages; a killed subscriber reconnects and re-subscribes", function()
  local w = redis.watch { host = "127.0.0.1", port = port }
  w:subscribe("c1", "c2")
  w:psubscribe "p.*"
  subscribed({ "c1", "c2" }, 1)
  admin:publish("c1", "m1")
  admin:publish("c2", "m2")
  admin:publish("p.x", "m3")
  T.eq(table.pack(w:message()), table.pack("m1", "c1"))
  T.eq(table.pack(w:message()), table.pack("m2", "c2"))
  T.eq(table.pack(w:message()), table.pack("m3", "p.x", "p.*"))
  local waiting = T.spawn(w.message, w)
  skynet.sleep(5)
  T.ok(admin:client("kill", "type", "pubsub") >= 1, "killed the subscriber")
  local r = waiting:wait()
  T.eq(r[1], false)
  T.ok(r[2] == sc.error, "the waiting message() raises sc.error, got " .. tostring(r[2]))
  local from = T.mark()
  local next_message = T.spawn(w.message, w)
  T.log("socket: connect to 127%.0%.0%.1 " .. port .. "$", from)
  subscribed({ "c1", "c2" }, 1)
  admin:publish("c2", "after")
  T.eq(table.pack(next_message:value()), table.pack("after", "c2"))
  admin:publish("p.y", "after2")
  T.eq(table.pack(w:message()), table.pack("after2", "p.y", "p.*"))
  w:unsubscribe "c2"
  w:punsubscribe "p.*"
  T.eventually(function() return admin:pubsub "numpat" == 0 end, nil, "unsubscribed")
  admin:publish("c2", "dropped")
  admin:publish("c1", "last")
  T.eq(table.pack(w:message()), table.pack("last", "c1"))
  w:disconnect()
  T.raises("attempt to call a nil value %(method 'message'%)", function() return w:message() end)
end)

T.test("concurrent coroutines on one connection get their own replies", function()
  local db = connect { db = 1 }
  local workers = {}
  for c = 1, 16 do
    workers[c] = T.spawn(function()
      for i = 1, 200 do
        local value = c .. ":" .. i
        if db:echo(value) ~= value then error("crossed reply for " .. value) end
        db:set("conc" .. c, value)
        if db:get("conc" .. c) ~= value then error("crossed get for " .. value) end
      end
      return true
    end)
  end
  for c = 1, 16 do
    T.eq(workers[c]:value(3000), true)
  end
  db:disconnect()
end, 4000)

T.test("disconnect: later method calls raise", function()
  local db = connect()
  db:disconnect()
  T.raises("attempt to call a nil value %(method 'get'%)", function() return db:get "x" end)
  admin:disconnect()
end)

T.start()
