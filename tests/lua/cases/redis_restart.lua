-- skynet.db.redis while its redis-server is killed (SIGKILL) and started again, through the
-- fixture's control script (tests/lua/services/redis_ctl.lua).
--! test_redis_port = "$REDIS_PORT"
--! test_redis_ctl = "$REDIS_CTL"
local skynet = require "skynet"
local sc = require "skynet.socketchannel"
local redis = require "skynet.db.redis"
local T = require "testlib"

local port = assert(math.tointeger(skynet.getenv "test_redis_port"), "no test_redis_port")
local ctl

local function server(action)
  ctl = ctl or skynet.newservice "redis_ctl"
  skynet.call(ctl, "lua", action, port)
end

local function connect(conf)
  conf = conf or {}
  conf.host, conf.port = "127.0.0.1", port
  return redis.connect(conf)
end

T.test("killed and restarted under load: errors, then success; never another caller's reply", function()
  local db = connect { db = 4 }
  local WORKERS = 8
  local stats, stop = {}, false
  local crossed, odd_errors = {}, {}
  local workers = {}
  for c = 1, WORKERS do
    local s = { ok = 0, errors = 0, ok_after = 0 }
    stats[c] = s
    workers[c] = T.spawn(function()
      local i = 0
      while not stop do
        i = i + 1
        local value = c .. ":" .. i
        local ok, r
        if i % 3 == 0 then
          ok, r = pcall(db.pipeline, db, { { "echo", value }, { "echo", value .. "b" } }, {})
          if ok and (r[1].out ~= value or r[2].out ~= value .. "b") then
            crossed[#crossed + 1] = value .. " got " .. T.repr(r)
          end
        else
          ok, r = pcall(db.echo, db, value)
          if ok and r ~= value then
            crossed[#crossed + 1] = value .. " got " .. T.repr(r)
          end
        end
        if ok then
          s.ok = s.ok + 1
          if s.restarted then s.ok_after = s.ok_after + 1 end
        else
          s.errors = s.errors + 1
          if r ~= sc.error then odd_errors[#odd_errors + 1] = tostring(r) end
          skynet.sleep(1) -- no reconnect storm while the server is down
        end
      end
    end)
  end
  local function all(cond)
    for c = 1, WORKERS do
      if not cond(stats[c]) then return false end
    end
    return true
  end
  T.eventually(function() return all(function(s) return s.ok >= 20 end) end, 1000, "warm")
  server "kill"
  T.eventually(function() return all(function(s) return s.errors >= 1 end) end, 1000,
    "every caller saw the failure")
  server "start"
  for c = 1, WORKERS do stats[c].restarted = true end
  T.eventually(function() return all(function(s) return s.ok_after >= 20 end) end, 2000,
    "every caller succeeds again")
  stop = true
  for c = 1, WORKERS do workers[c]:value() end
  T.eq(crossed, {}, "replies that belong to another request")
  T.eq(odd_errors, {}, "errors other than sc.error")
  -- the connection after the restart still selects db 4
  db:set("after", "restart")
  local check = connect { db = 4 }
  T.eq(check:get "after", "restart")
  check:disconnect()
  db:disconnect()
end, 6000)

T.test("watch: the subscriptions come back after the server restarts", function()
  local admin = connect()
  local w = redis.watch { host = "127.0.0.1", port = port }
  w:subscribe "news"
  T.eventually(function() return admin:pubsub("numsub", "news")[2] == 1 end, nil, "subscribed")
  admin:publish("news", "before")
  T.eq(table.pack(w:message()), table.pack("before", "news"))
  local waiting = T.spawn(w.message, w)
  server "restart"
  local r = waiting:wait()
  T.eq(r[1], false)
  T.ok(r[2] == sc.error, "the waiting message() raises sc.error, got " .. tostring(r[2]))
  local next_message = T.spawn(w.message, w)
  -- admin reconnects on its first command after the restart
  T.eventually(function()
    local ok, counts = pcall(admin.pubsub, admin, "numsub", "news")
    return ok and counts[2] == 1
  end, 2500, "subscribed again on the new server")
  admin:publish("news", "after")
  T.eq(table.pack(next_message:value()), table.pack("after", "news"))
  w:disconnect()
  admin:disconnect()
end, 3000)

T.start()
