-- skynet.db.mongo against a fake server speaking OP_MSG (tests/lua/services/mongo_fake.lua):
-- SCRAM-SHA-1, the documents each method sends (key order included), cursors, write
-- results, and replies that break the protocol. A real MongoDB is not involved (none in
-- Debian): docs/DATABASES.md says what this leaves out.
local skynet = require "skynet"
local mongo = require "skynet.db.mongo"
local driver = require "skynet.mongo.driver"
local bson = require "bson"
local T = require "testlib"

local fake, port

local function requests()
  return skynet.call(fake, "lua", "requests")
end

-- The last request named `name`.
local function last(name)
  local all = requests()
  for i = #all, 1, -1 do
    if all[i].name == name then return all[i] end
  end
end

local function connect()
  return mongo.client { host = "127.0.0.1", port = port, username = "admin", password = "secret" }
end

local client, coll

T.test("the native driver: op_msg, length, reply and its errors", function()
  local msg = driver.op_msg(7, 2, bson.encode_order("ping", 1))
  T.eq(driver.length(msg:sub(1, 4)), #msg - 4)
  T.eq(string.unpack("<i4i4i4i4I4B", msg, 1), #msg)
  T.eq(select(4, string.unpack("<i4i4i4i4", msg)), 2013)
  local ok, response_to, ptr = driver.reply(msg:sub(5))
  T.eq({ ok, response_to }, { true, 0 })
  T.eq(bson.decode(ptr), { ping = 1 })
  T.eq(driver.reply("short"), false)
  T.raises("opmsg require cmd document$", driver.op_msg, 1, 0)
  local body = msg:sub(5)
  T.raises("Unsupported opcode:1$", driver.reply, body:sub(1, 8) .. string.pack("<i4", 1) .. body:sub(13))
  T.raises("Unsupported OP_MSG flag checksumPresent$", driver.reply, body:sub(1, 12) .. string.pack("<I4", 1) .. body:sub(17))
  T.raises("Unsupported OP_MSG flag:4$", driver.reply, body:sub(1, 12) .. string.pack("<I4", 4) .. body:sub(17))
  T.raises("Unsupported OP_MSG payload type: 1$", driver.reply, body:sub(1, 16) .. "\1" .. body:sub(18))
  T.raises("Unsupported OP_MSG reply: >1 section$", driver.reply, body .. "\0")
  T.raises("Truncated OP_MSG reply", driver.reply, body:sub(1, -2))
end)

T.test("connect: SCRAM-SHA-1 then ismaster; a wrong password fails", function()
  fake = skynet.newservice "mongo_fake"
  port = skynet.call(fake, "lua", "port")
  client = connect()
  local all = requests()
  T.eq(all[1].keys, { "saslStart", "$db", "autoAuthorize", "mechanism", "payload" })
  T.eq(all[1].doc.mechanism, "SCRAM-SHA-1")
  T.eq(all[2].name, "saslContinue")
  T.eq(all[3].name, "saslContinue", "one more with an empty payload to finish")
  T.eq(all[4].keys, { "ismaster", "$db" })
  T.eq(all[4].doc["$db"], "admin")
  T.eq(tostring(client), "[mongo client :\t127.0.0.1:" .. port .. "]")
  local from = T.mark()
  T.raises("", mongo.client, { host = "127.0.0.1", port = port, username = "admin", password = "wrong" })
  T.log("socket: auth failed .*assertion failed!$", from)
  T.log("Connect failed no more backup host 127%.0%.0%.1 " .. port .. "$", from)
end)

T.test("dbs and collections: names, tostring, cache", function()
  local db = client.testdb
  T.eq(tostring(db), "[mongo db :\ttestdb]")
  T.ok(client:getDB "testdb" == db)
  coll = db.coll
  T.eq(tostring(coll), "[mongo collection :\ttestdb.coll]")
  T.ok(db:getCollection "coll" == coll)
end)

T.test("inserts: safe ones answered (no _id added), plain ones fire-and-forget with an _id", function()
  T.eq(table.pack(coll:safe_insert { k = 1, name = "a" }), table.pack(true, nil, { n = 1, ok = 1 }))
  local r = last "insert"
  T.eq(r.keys, { "insert", "$db", "documents" })
  T.eq(r.doc.documents[1], { k = 1, name = "a" })
  coll:insert { k = 2, name = "b" }
  coll:batch_insert { { k = 3, name = "c" }, { k = 4, name = "d" } }
  T.eq(coll:findOne { k = 2 }.name, "b", "the fire-and-forget insert arrived first")
  local all = requests()
  local plain = all[#all - 2]
  T.eq(plain.keys, { "insert", "$db", "writeConcern", "documents" })
  T.eq(plain.flags, 2, "moreToCome")
  T.eq(bson.type(plain.doc.documents[1]._id), "objectid")
  local ok, err, reply = coll:safe_batch_insert { { _id = 1 }, { _id = 1 } }
  T.eq({ ok, err }, { false, "E11000 duplicate key error" })
  T.eq(reply.n, 1)
end)

T.test("findOne and find: the documents sent, sort/skip/limit/batchSize, getMore, close", function()
  T.eq(coll:findOne({ k = 3 }, { name = 1 }).name, "c")
  T.eq(last("find").keys, { "find", "$db", "filter", "limit", "projection" })
  T.eq(coll:findOne { k = 99 }, nil)
  local c = coll:find({}, { name = 1 })
  T.raises("Call\thasNext\tfirst$", c.next, c)
  local names = {}
  c = coll:find({ name = nil }):sort { k = -1 }:skip(1):limit(3):batchSize(1)
  while c:hasNext() do names[#names + 1] = c:next().k end
  T.eq(names, { 3, 2, 1 })
  local find = last "find"
  T.eq(find.keys, { "find", "$db", "filter", "sort", "projection", "skip", "limit", "batchSize" })
  local more = last "getMore"
  T.eq(more.keys, { "getMore", "$db", "collection", "batchSize" })
  T.eq(math.type(more.doc.getMore), "integer")
  c = coll:find {}:batchSize(2)
  T.ok(c:hasNext())
  c:next()
  local before = #requests()
  c:close()
  T.eventually(function() return #requests() > before end, 500, "the killCursors arrives")
  local kill = last "killCursors"
  T.eq(kill.keys, { "killCursors", "$db", "writeConcern", "cursors" })
  T.eq(kill.flags, 2)
  T.eq(coll:find {}:count(), 5)
  T.eq(coll:find {}:skip(1):limit(2):count(true), 2)
  T.eq(last("count").keys, { "count", "$db", "query", "skip", "limit" })
end)

T.test("update, delete, findAndModify, createIndex, drop; an unknown command", function()
  T.eq((coll:safe_update({ k = 1 }, { ["$set"] = { name = "A" } })), true)
  T.eq(last("update").keys, { "update", "$db", "updates" })
  T.eq(last("update").doc.updates[1], { q = { k = 1 }, u = { ["$set"] = { name = "A" } }, upsert = false, multi = false })
  T.eq(coll:findOne({ k = 1 }).name, "A")
  coll:update({ k = 9 }, { ["$set"] = { name = "up" } }, true)
  T.eq(coll:findOne({ k = 9 }).name, "up")
  T.eq((coll:safe_delete({ k = 9 }, true)), true)
  T.eq(last("delete").doc.deletes[1], { q = { k = 9 }, limit = 1 })
  coll:delete { k = 4 }
  T.eq(coll:findOne { k = 4 }, nil)
  local r = coll:findAndModify { query = { k = 2 }, update = { ["$set"] = { name = "B" } }, new = true }
  T.eq(r.value.name, "B")
  T.eq(last("findAndModify").keys, { "findAndModify", "$db", "query", "update", "new" })
  coll:createIndex({ { k = 1 }, { name = -1 }, unique = true })
  local index = last("createIndexes").doc.indexes[1]
  T.eq(index.name, "k_1_name_-1")
  T.eq(index.unique, true)
  T.eq(index.key, { k = 1, name = -1 })
  coll:createIndex("a", "b")
  T.eq(last("createIndexes").doc.indexes[1].name, "a_1_b_1")
  coll:createIndex({ k = 1 }, { unique = true })
  T.eq(last("createIndexes").doc.indexes[1].name, "k_1")
  T.eq(coll:drop().ok, 1)
  T.eq(coll:findOne {}, nil)
  local bogus = client.testdb:runCommand "bogus"
  T.eq(bogus, { ok = 0, errmsg = "no such command: 'bogus'", code = 59 })
end)

T.test("aggregate: the pipeline with sort, skip and limit stages; count", function()
  local agg = client.testdb.agg
  T.eq((agg:safe_batch_insert { { k = 3, g = 1 }, { k = 1, g = 1 }, { k = 2, g = 1 }, { k = 9, g = 2 } }), true)
  local c = agg:aggregate({ { ["$match"] = { g = 1 } } }):sort({ k = -1 }):skip(1):limit(5)
  local ks = {}
  while c:hasNext() do ks[#ks + 1] = c:next().k end
  T.eq(ks, { 2, 1 })
  local r = last "aggregate"
  T.eq(r.keys, { "aggregate", "$db", "pipeline", "cursor" })
  T.eq(#r.doc.pipeline, 4, "$match, $sort, $skip, $limit")
  T.eq(agg:aggregate({ { ["$match"] = { g = 1 } } }):count(), 3)
end)

T.test("bulkWrite: ops over two collections, the documents sent, failed ops", function()
  local ok, err, r, failed = client:bulkWrite({
    { op = "insert", collection = "bulk.a", insert = { _id = 1, v = 1 } },
    { op = "insert", collection = "bulk.b", insert = { _id = 1, v = 2 } },
    { op = "update", collection = "bulk.a", filter = { _id = 1 }, update = { ["$set"] = { v = 10 } } },
    { op = "update", collection = "bulk.a", filter = { _id = 5 }, update = { v = 5 }, upsert = true,
      multi = true, collation = { locale = "fr" } },
    { op = "delete", collection = "bulk.b", filter = { _id = 1 }, hit = { _id = 1 } },
  }, "a note", true)
  T.eq({ ok, err, failed }, { true, nil, nil })
  T.eq({ r.nInserted, r.nModified, r.nUpserted, r.nDeleted, r.nErrors }, { 2, 1, 1, 1, 0 })
  local req = last "bulkWrite"
  T.eq(req.keys, { "bulkWrite", "$db", "ops", "nsInfo", "ordered", "comment" })
  T.eq(req.doc["$db"], "admin")
  T.eq(req.doc.nsInfo, { { ns = "bulk.a" }, { ns = "bulk.b" } })
  T.eq({ req.doc.ops[1].insert, req.doc.ops[2].insert, req.doc.ops[5].delete }, { 0, 1, 1 })
  local ops = req.nested.ops.nested
  T.eq(ops["0"].keys, { "insert", "document" })
  T.eq(ops["2"].keys, { "update", "filter", "updateMods", "multi", "upsert" })
  T.eq(ops["3"].keys, { "update", "filter", "updateMods", "multi", "upsert", "collation" })
  T.eq(ops["4"].keys, { "delete", "filter", "multi", "hint" })
  T.eq(req.doc.ops[5].hint, { _id = 1 }, "skynet's `hit` is sent as hint")
  T.eq(client.bulk.a:findOne({ _id = 1 }).v, 10)
  T.eq(client.bulk.a:findOne({ _id = 5 }).v, 5)
  T.eq(client.bulk.b:findOne { _id = 1 }, nil)
  -- unordered: the duplicate fails, the op after it still runs
  ok, err, r, failed = client:bulkWrite({
    { op = "insert", collection = "bulk.a", insert = { _id = 1 } },
    { op = "insert", collection = "bulk.a", insert = { _id = 2 } },
  }, nil, false)
  T.eq({ ok, err, failed, r.nErrors }, { true, "E11000 duplicate key error;", { 1 }, 1 })
  T.eq(last("bulkWrite").keys, { "bulkWrite", "$db", "ops", "nsInfo", "ordered" })
  T.eq(client.bulk.a:findOne({ _id = 2 })._id, 2)
  T.raises("bulkWrite: unknown op drop$", client.bulkWrite, client, { { op = "drop", collection = "x" } })
  T.raises("bulkWrite: op 1 has no collection$", client.bulkWrite, client, { { op = "insert", insert = {} } })
end)

T.test("transactions: mongo.enable, run_transaction commits, an error aborts", function()
  T.eq(rawget(getmetatable(client.testdb), "run_transaction"), nil, "not there before mongo.enable")
  mongo.enable "transaction"
  mongo.enable "transaction"
  local db = client.txdb
  local before = #requests()
  local outside
  T.eq(db:run_transaction(function()
    T.eq((db.t:safe_insert { _id = 1 }), true)
    db.t:insert { _id = 2 }
    T.eq(db.t:findOne({ _id = 2 })._id, 2)
    -- another coroutine of the service is not part of the transaction
    outside = T.spawn(db.runCommand, db, "ismaster")
    outside:value(300)
    T.eq(db:run_transaction(function() end), "run_transaction: already in a transaction")
  end), nil)
  local all = requests()
  local names = {}
  for i = before + 1, #all do names[#names + 1] = all[i].name end
  T.eq(names, { "startSession", "insert", "insert", "find", "ismaster", "commitTransaction",
    "endSessions" })
  local start, first, plain, find, other, commit, finish = table.unpack(all, before + 1)
  T.eq(start.keys, { "startSession", "$db" })
  T.eq(first.keys, { "insert", "$db", "documents", "lsid", "txnNumber", "autocommit", "startTransaction" })
  T.eq(first.types.txnNumber, 18, "txnNumber is an int64")
  T.eq({ first.doc.autocommit, first.doc.startTransaction }, { false, true })
  T.eq(plain.keys, { "insert", "$db", "documents", "lsid", "txnNumber", "autocommit" }, "no writeConcern")
  T.eq(plain.flags, 2, "moreToCome")
  T.eq(find.keys, { "find", "$db", "filter", "limit", "projection", "lsid", "txnNumber", "autocommit" })
  T.eq(other.keys, { "ismaster", "$db" })
  T.eq(commit.keys, { "commitTransaction", "$db", "lsid", "txnNumber", "autocommit" })
  T.eq(commit.doc["$db"], "admin")
  T.eq({ commit.doc.lsid, commit.doc.txnNumber }, { first.doc.lsid, first.doc.txnNumber })
  T.eq(finish.keys, { "endSessions", "$db" })
  T.eq(finish.doc.endSessions, { first.doc.lsid })
  T.eq(db.t:find {}:count(), 2)
  T.eq(last("count").doc.lsid, nil, "after the transaction, plain commands again")

  local err = db:run_transaction(function()
    T.eq((db.t:safe_insert { _id = 3 }), true)
    error "boom"
  end)
  T.match(err, "boom")
  local abort = last "abortTransaction"
  T.eq(abort.keys, { "abortTransaction", "$db", "lsid", "txnNumber", "autocommit" })
  T.eq(abort.doc.txnNumber, first.doc.txnNumber + 1)
  T.eq(last("endSessions").doc.endSessions, { abort.doc.lsid })
  T.eq(db.t:findOne { _id = 3 }, nil, "the fake rolled the insert back")
  local ran = false
  T.eq(client.nosessions:run_transaction(function() ran = true end), "sessions refused")
  T.eq(ran, false)
end)

T.test("bad replies: a clear error, the connection closed, the next request reconnects", function()
  local db = client.testdb
  for _, cmd in ipairs { "truncated", "badopcode", "twosections", "shortreply" } do
    -- a request pipelined behind the bad reply fails too, at once
    local bad = T.spawn(db.runCommand, db, cmd)
    local behind = T.spawn(db.runCommand, db, "ismaster")
    local err = bad:err(300)
    T.eq(behind:err(300), err, "the request behind " .. cmd .. " gets the same error")
    T.eq(db:runCommand("ismaster").ok, 1, "usable again after " .. cmd)
  end
  T.raises("Truncated OP_MSG reply", db.runCommand, db, "truncated")
  T.raises("Unsupported opcode:1$", db.runCommand, db, "badopcode")
  T.raises("Unsupported OP_MSG reply: >1 section$", db.runCommand, db, "twosections")
  T.raises("Invalid mongo reply length 10$", db.runCommand, db, "shortreply")
  T.raises("Error: socket", db.runCommand, db, "closeconn")
  T.eq(db:runCommand("ismaster").ok, 1)
end)

T.test("disconnect: later commands raise", function()
  client:disconnect()
  T.raises("attempt to index a boolean value", function() return client.testdb:runCommand "ismaster" end)
end)

T.start()
