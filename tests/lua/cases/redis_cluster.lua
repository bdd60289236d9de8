-- skynet.db.redis.cluster against a 3-master redis cluster started by
-- tests/support/with_redis.sh: slot map, key slots, MOVED and ASK, pub/sub, eval, and a
-- node that goes away and comes back.
-- with_redis: --no-standalone --cluster 3
--! test_redis_cluster_ports = "$REDIS_CLUSTER_PORTS"
--! test_redis_ctl = "$REDIS_CTL"
local skynet = require "skynet"
local redis = require "skynet.db.redis"
local rediscluster = require "skynet.db.redis.cluster"
local crc16 = require "skynet.db.redis.crc16"
local T = require "testlib"

local ports = {}
for p in string.gmatch(assert(skynet.getenv "test_redis_cluster_ports"), "%d+") do
  ports[#ports + 1] = math.tointeger(p)
end
assert(#ports == 3, "three cluster ports")

local messages = {}
local function onmessage(data, channel, pattern)
  messages[#messages + 1] = { data, channel, pattern }
end

local db -- the client under test
local direct = {} -- port -> plain connection to that node

local function node(port)
  direct[port] = direct[port] or redis.connect { host = "127.0.0.1", port = port }
  return direct[port]
end

-- The port of the node that serves a key, asked from the servers themselves.
local function owner(key)
  local slot = node(ports[1]):cluster("keyslot", key)
  for _, range in ipairs(node(ports[1]):cluster "slots") do
    if slot >= range[1] and slot <= range[2] then return range[3][2], slot end
  end
end

-- A key (prefix .. n) that lives on the node with this port.
local function key_on(port, prefix)
  for n = 1, 1000 do
    local key = prefix .. n
    if owner(key) == port then return key end
  end
end

T.test("crc16 and keyslot: the XMODEM check value, hash tags, and the server's own answer", function()
  T.eq(crc16 "123456789", 0x31C3)
  T.eq(crc16 "", 0)
  db = rediscluster.new({ { host = "127.0.0.1", port = ports[1] }, { host = "127.0.0.1", port = ports[2] } },
    { db = 0 }, onmessage)
  T.eq(db:keyslot "123456789", 0x31C3 % 16384)
  T.eq(db:keyslot "{user1000}.following", db:keyslot "{user1000}.followers")
  T.eq(db:keyslot "{user1000}.following", db:keyslot "user1000")
  T.eq(db:keyslot "foo{}{bar}", crc16 "foo{}{bar}" % 16384, "empty tag: the whole key")
  T.eq(db:keyslot "foo{{bar}}zap", crc16 "{bar" % 16384)
  T.eq(db:keyslot "foo{bar}{zap}", crc16 "bar" % 16384)
  for _, key in ipairs { "a", "hello", "{tag}x", "x{y", "}{", "\0\255", string.rep("k", 300) } do
    T.eq(db:keyslot(key), node(ports[1]):cluster("keyslot", key), "slot of " .. T.repr(key))
  end
end)

T.test("the slot map covers every slot with the three masters", function()
  local covered = 0
  for slot = 0, 16383 do
    if db.slots[slot] then covered = covered + 1 end
  end
  T.eq(covered, 16384)
  T.eq(#db.nodes, 3)
  local seen = {}
  for _, n in ipairs(db.nodes) do seen[n.port] = n.name end
  for _, p in ipairs(ports) do T.eq(seen[p], "127.0.0.1:" .. p) end
end)

T.test("commands go to the node of their key: strings, lists, hashes on every node", function()
  for _, p in ipairs(ports) do
    local key = key_on(p, "k")
    T.eq(db:set(key, p), "OK")
    T.eq(db:get(key), tostring(p))
    T.eq(node(p):get(key), tostring(p), "stored on its node")
  end
  db:del "list"
  db:rpush("list", 1, 2, 3)
  T.eq(db:lrange("list", 0, -1), { "1", "2", "3" })
  db:del "map"
  db:hmset("map", "key1", 1, "key2", 2)
  T.eq(db:hgetall "map", { "key1", "1", "key2", "2" })
  T.raises(": WRONGTYPE Operation against a key holding the wrong kind of value$", db.get, db, "list")
  T.raises("No way to dispatch this command to Redis Cluster: info$", db.info, db)
  T.raises("No way to dispatch this command to Redis Cluster: exec$", db.exec, db)
end)

T.test("MOVED: a flushed or a wrong slot map is corrected, then re-read", function()
  db:flush_slots_cache()
  T.eq(next(db.slots), nil)
  local keys = {}
  for i, p in ipairs(ports) do keys[i] = key_on(p, "m") end
  for i, key in ipairs(keys) do
    T.eq(db:set(key, i), "OK")
    T.eq(db:get(key), tostring(i))
  end
  -- every slot pointing at the first key's node: the others answer MOVED
  local wrong = db.slots[db:keyslot(keys[1])]
  for slot = 0, 16383 do db.slots[slot] = wrong end
  T.eq(db:get(keys[2]), "2")
  T.eq(db.slots[db:keyslot(keys[2])].port, ports[2], "learned from MOVED")
  T.eq(db.refresh_table_asap, true, "MOVED asks for a new map")
  T.eq(db:get(keys[1]), "1")
  T.eq(db.refresh_table_asap, false, "the map was read again")
  for i, key in ipairs(keys) do
    T.eq(db.slots[db:keyslot(key)].port, owner(key), "slot of key " .. i)
  end
end)

T.test("connections: one per node, close_all_connection, max_connections", function()
  local workers = {}
  local fresh = rediscluster.new({ host = "127.0.0.1", port = ports[3] })
  fresh:close_all_connection()
  for i = 1, 12 do
    workers[i] = T.spawn(fresh.get, fresh, "c" .. i)
  end
  for i = 1, 12 do workers[i]:value() end
  local names = {}
  for name in pairs(fresh.connections) do names[#names + 1] = name end
  table.sort(names)
  T.eq(#names, 3, "one connection per node, made once for concurrent callers")
  fresh:close_all_connection()
  T.eq(next(fresh.connections), nil)
  T.eq(fresh:set("A", 1), "OK")
  T.eq(fresh:del "A", 1)
  local small = rediscluster.new({ host = "127.0.0.1", port = ports[1] }, { max_connections = 1 })
  for _, p in ipairs(ports) do
    local key = key_on(p, "c")
    small:set(key, "v")
    T.eq(small:get(key), "v")
    local count = 0
    for _ in pairs(small.connections) do count = count + 1 end
    T.eq(count, 1, "at most max_connections")
  end
  fresh:close_all_connection()
  small:close_all_connection()
end)

T.test("get_connection_by_slot with a pipeline on one slot; get_random_connection", function()
  local conn = db:get_connection_by_slot(db:keyslot "{foo}")
  local ret = conn:pipeline({
    { "hincrby", "{foo}hello", 1, 1 },
    { "del", "{foo}hello" },
    { "hmset", "{foo}hello", 1, 1, 2, 2, 3, 3 },
    { "hgetall", "{foo}hello" },
  }, {})
  T.eq(ret, {
    { ok = true, out = 1 },
    { ok = true, out = 1 },
    { ok = true, out = "OK" },
    { ok = true, out = { "1", "1", "2", "2", "3", "3" } },
  })
  local random = db:get_random_connection()
  T.eq(random:ping(), "PONG")
  T.eq(math.type(random:dbsize()), "integer")
end)

T.test("ASK during a slot migration: ASKING and the command go to the importing node", function()
  local from_port, to_port = ports[1], ports[2]
  local key = key_on(from_port, "ask")
  local slot = db:keyslot(key)
  T.eq(node(from_port):cluster("countkeysinslot", slot), 0, "an empty slot")
  local from_id, to_id = node(from_port):cluster "myid", node(to_port):cluster "myid"
  node(to_port):cluster("setslot", slot, "importing", from_id)
  node(from_port):cluster("setslot", slot, "migrating", to_id)
  T.eq(db:set(key, "asked"), "OK")
  T.eq(node(from_port):cluster("countkeysinslot", slot), 0, "not on the migrating node")
  T.eq(node(to_port):cluster("countkeysinslot", slot), 1, "on the importing node")
  T.eq(db:get(key), "asked", "read through ASK again")
  T.eq(db.slots[slot].port, from_port, "ASK does not change the map")
  -- finish the migration: now the old node answers MOVED
  for _, p in ipairs(ports) do
    node(p):cluster("setslot", slot, "node", to_id)
  end
  T.eq(db:get(key), "asked")
  T.eq(db.slots[slot].port, to_port, "MOVED updated the map")
end)

T.test("eval: keys of one slot; keys of several slots are refused", function()
  db:set("A", 1)
  local script = [[
    if redis.call("get", KEYS[1]) == ARGV[1] then return "ok" else return "fail" end]]
  T.eq(db:eval(script, 1, "A", 1), "ok")
  T.eq(db:eval(script, 1, "A", 2), "fail")
  T.eq(db:eval("return #KEYS", 2, "{t}a", "{t}b"), 2)
  T.raises("eval %- all keys must map to the same key slot$", db.eval, db, "return 1", 2, "a", "b")
  T.raises("No way to dispatch this command to Redis Cluster: eval$", db.eval, db, "return 1", 0)
  db:del "A"
end)

-- Publishes until onmessage has seen a message with this text (the first publishes may
-- precede the subscription).
local function delivered(channel, text)
  T.eventually(function()
    db:publish(channel, text)
    for _, m in ipairs(messages) do
      if m[1] == text then return m end
    end
  end, nil, "message " .. text)
  for _, m in ipairs(messages) do
    if m[1] == text then return m end
  end
end

T.test("subscribe and psubscribe deliver to onmessage, from any node", function()
  db:subscribe "world"
  db:subscribe "myteam"
  T.eq(delivered("world", "hello,world"), { "hello,world", "world" })
  T.eq(delivered("myteam", "hello,my team"), { "hello,my team", "myteam" })
  db:psubscribe "{tag}*team"
  T.eq(delivered("{tag}1team", "hello,1team"), { "hello,1team", "{tag}1team", "{tag}*team" })
  db:unsubscribe "world"
  T.eventually(function()
    for _, p in ipairs(ports) do
      if node(p):pubsub("numsub", "world")[2] ~= 0 then return false end
    end
    return true
  end, nil, "unsubscribed")
  local before = #messages
  db:publish("world", "dropped")
  T.eq(delivered("myteam", "still here"), { "still here", "myteam" })
  for i = before + 1, #messages do
    T.ok(messages[i][1] ~= "dropped", "no message after unsubscribe")
  end
end)

T.test("a node that goes away and comes back", function()
  local ctl = skynet.newservice "redis_ctl"
  local down = ports[3]
  local lost = key_on(down, "gone")
  local alive = key_on(ports[1], "alive")
  db:set(lost, "before")
  direct[down] = nil
  skynet.call(ctl, "lua", "kill", down)
  T.raises("Too many Cluster redirections%?", db.get, db, lost)
  T.eq(db:set(alive, "yes"), "OK", "the other nodes still serve their slots")
  T.eq(db:get(alive), "yes")
  skynet.call(ctl, "lua", "start", down)
  T.eventually(function()
    local ok = pcall(db.set, db, lost, "after")
    return ok
  end, 3000, "the node serves its slots again")
  T.eq(db:get(lost), "after")
  T.eq(node(down):get(lost), "after")
end, 4000)

T.test("close_all_connection leaves the watch connections alone", function()
  db:close_all_connection()
  T.eq(next(db.connections), nil)
  T.eq(delivered("myteam", "after close"), { "after close", "myteam" })
  db:close_all_connection()
  for _, c in pairs(direct) do c:disconnect() end
end)

T.start()
