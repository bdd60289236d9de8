-- A fake MongoDB for the mongo case: OP_MSG on a loopback port, SCRAM-SHA-1 for user "admin"
-- with password "secret" (the proof is checked), in-memory collections with equality
-- filters, cursors, a few aggregation stages, and commands that make it misbehave:
--   truncated   a reply whose document runs past the message
--   badopcode   a reply with opcode 1            twosections  bytes after the document
--   shortreply  a message length of 10           closeconn    the connection closed
-- Requests with moreToCome get no reply. Anything else unknown: ok 0, code 59.
-- Sessions and one transaction at a time: startSession, endSessions, commands carrying
-- lsid/txnNumber (an int64)/autocommit false, the first with startTransaction (the
-- collections are snapshotted), commitTransaction, abortTransaction (the snapshot comes
-- back); startSession on the database "nosessions" is refused. bulkWrite runs insert, update and delete ops over its nsInfo.
--   skynet.call(h, "lua", "port") -> port
--   skynet.call(h, "lua", "requests") -> { { name =, keys = {top-level keys in order},
--     types = {key -> bson type byte}, nested = {key -> layout of that document}, doc =, flags = } }
local skynet = require "skynet"
local socket = require "skynet.socket"
local driver = require "skynet.mongo.driver"
local bson = require "bson"
local crypt = require "skynet.crypt"
local md5 = require "md5"

local spack, sunpack = string.pack, string.unpack

local USER, PASSWORD, SALT, ITERATIONS = "admin", "secret", "0123456789abcdef", 64
local collections = {} -- "db.coll" -> { doc... }
local cursors = {} -- id -> { ns, docs, pos }
local next_cursor = 1000
local requests = {}
local sasl -- the conversation in progress

-- The layout of a BSON document: its keys in order, their type bytes, and the layout of each
-- embedded document or array.
local FIXED = { [1] = 8, [7] = 12, [8] = 1, [9] = 8, [10] = 0, [16] = 4, [17] = 8, [18] = 8,
  [127] = 0, [255] = 0 }
local function layout_of(raw, start)
  local keys, types, nested = {}, {}, {}
  local pos = (start or 1) + 4
  while raw:byte(pos) ~= 0 do
    local t = raw:byte(pos)
    local key_end = raw:find("\0", pos + 1, true)
    local key = raw:sub(pos + 1, key_end - 1)
    keys[#keys + 1] = key
    types[key] = t
    pos = key_end + 1
    if FIXED[t] then
      pos = pos + FIXED[t]
    elseif t == 2 then
      pos = pos + 4 + sunpack("<i4", raw, pos)
    elseif t == 3 or t == 4 then
      nested[key] = layout_of(raw, pos)
      pos = pos + sunpack("<i4", raw, pos)
    elseif t == 5 then
      pos = pos + 5 + sunpack("<i4", raw, pos)
    else
      error("fake: bson type " .. t)
    end
  end
  return { keys = keys, types = types, nested = nested }
end

local function salted_password()
  local password = md5.sumhexa(USER .. ":mongo:" .. PASSWORD)
  local block = crypt.hmac_sha1(password, SALT .. "\0\0\0\1")
  local out = block
  for _ = 2, ITERATIONS do
    block = crypt.hmac_sha1(password, block)
    out = crypt.xor_str(out, block)
  end
  return out
end

local function matches(doc, filter)
  for k, v in pairs(filter or {}) do
    if doc[k] ~= v then return false end
  end
  return true
end

local function coll_of(req, name)
  local ns = req["$db"] .. "." .. name
  collections[ns] = collections[ns] or {}
  return collections[ns], ns
end

local function apply_update(doc, u)
  if u["$set"] then
    for k, v in pairs(u["$set"]) do doc[k] = v end
    return doc
  end
  local id = doc._id
  local new = {}
  for k, v in pairs(u) do new[k] = v end
  new._id = id
  return new
end

local function batch(c, size)
  local out = {}
  while #out < (size or 101) and c.pos <= #c.docs do
    out[#out + 1] = c.docs[c.pos]
    c.pos = c.pos + 1
  end
  return out
end

local handle = {}

function handle.ismaster()
  return { ismaster = true, maxWireVersion = 17, ok = 1 }
end

function handle.saslStart(req)
  local bare = crypt.base64decode(req.payload):match "^n,,(.*)$"
  local nonce = bare:match "r=([^,]*)"
  local server_first = "r=" .. nonce .. "fakeservernonce,s=" .. crypt.base64encode(SALT) .. ",i=" .. ITERATIONS
  sasl = { bare = bare, server_first = server_first, step = 1 }
  return { conversationId = 1, done = false, payload = crypt.base64encode(server_first), ok = 1 }
end

function handle.saslContinue(req)
  if sasl.step == 2 then
    return { conversationId = 1, done = true, payload = "", ok = 1 }
  end
  local final = crypt.base64decode(req.payload)
  local without_proof, proof = final:match "^(.*),p=(.*)$"
  local salted = salted_password()
  local client_key = crypt.hmac_sha1(salted, "Client Key")
  local auth_message = sasl.bare .. "," .. sasl.server_first .. "," .. without_proof
  local want = crypt.xor_str(client_key, crypt.hmac_sha1(crypt.sha1(client_key), auth_message))
  if crypt.base64decode(proof) ~= want then
    return { ok = 0, errmsg = "Authentication failed.", code = 18 }
  end
  sasl.step = 2
  local v = crypt.base64encode(crypt.hmac_sha1(crypt.hmac_sha1(salted, "Server Key"), auth_message))
  return { conversationId = 1, done = false, payload = crypt.base64encode("v=" .. v), ok = 1 }
end

function handle.insert(req)
  local coll = coll_of(req, req.insert)
  local n, errors = 0, nil
  for i, doc in ipairs(req.documents) do
    local dup = false
    for _, old in ipairs(coll) do
      if doc._id ~= nil and old._id == doc._id then dup = true end
    end
    if dup then
      errors = errors or {}
      errors[#errors + 1] = { index = i - 1, code = 11000, errmsg = "E11000 duplicate key error" }
    else
      coll[#coll + 1] = doc
      n = n + 1
    end
  end
  return { n = n, writeErrors = errors, ok = 1 }
end

function handle.find(req)
  local coll, ns = coll_of(req, req.find)
  local docs = {}
  for _, doc in ipairs(coll) do
    if matches(doc, req.filter) then docs[#docs + 1] = doc end
  end
  local sort_key, dir = next(req.sort or {})
  if sort_key then
    table.sort(docs, function(a, b)
      local x, y = a[sort_key] or -math.huge, b[sort_key] or -math.huge -- missing sorts first
      if dir < 0 then return x > y end
      return x < y
    end)
  end
  local from, to = (req.skip or 0) + 1, #docs
  if req.limit and req.limit > 0 then to = math.min(to, from + req.limit - 1) end
  local c = { ns = ns, docs = table.move(docs, from, to, 1, {}), pos = 1 }
  local first = batch(c, req.batchSize)
  local id = 0
  if c.pos <= #c.docs then
    next_cursor = next_cursor + 1
    id = next_cursor
    cursors[id] = c
  end
  return { cursor = { id = bson.int64(id), ns = ns, firstBatch = first }, ok = 1 }
end

-- Stages $match (equality), $sort (one key), $skip, $limit, $count; one batch.
function handle.aggregate(req)
  local coll, ns = coll_of(req, req.aggregate)
  local docs = table.move(coll, 1, #coll, 1, {})
  for _, stage in ipairs(req.pipeline) do
    local op, arg = next(stage)
    if op == "$match" then
      local kept = {}
      for _, doc in ipairs(docs) do
        if matches(doc, arg) then kept[#kept + 1] = doc end
      end
      docs = kept
    elseif op == "$sort" then
      local key, dir = next(arg)
      table.sort(docs, function(a, b)
        if dir < 0 then return a[key] > b[key] end
        return a[key] < b[key]
      end)
    elseif op == "$skip" then
      docs = table.move(docs, arg + 1, #docs, 1, {})
    elseif op == "$limit" then
      docs = table.move(docs, 1, math.min(arg, #docs), 1, {})
    elseif op == "$count" then
      docs = { { [arg] = #docs } }
    end
  end
  return { cursor = { id = bson.int64(0), ns = ns, firstBatch = docs }, ok = 1 }
end

function handle.getMore(req)
  local c = cursors[req.getMore]
  if not c then return { ok = 0, errmsg = "cursor id " .. req.getMore .. " not found", code = 43 } end
  local docs = batch(c, req.batchSize)
  local id = req.getMore
  if c.pos > #c.docs then
    cursors[id] = nil
    id = 0
  end
  return { cursor = { id = bson.int64(id), ns = c.ns, nextBatch = docs }, ok = 1 }
end

function handle.killCursors(req)
  for _, id in ipairs(req.cursors) do cursors[id] = nil end
  return { ok = 1 }
end

function handle.count(req)
  local coll = coll_of(req, req.count)
  local n = 0
  for _, doc in ipairs(coll) do
    if matches(doc, req.query) then n = n + 1 end
  end
  n = math.max(0, n - (req.skip or 0))
  if req.limit and req.limit > 0 then n = math.min(n, req.limit) end
  return { n = n, ok = 1 }
end

function handle.update(req)
  local coll = coll_of(req, req.update)
  local n = 0
  for _, u in ipairs(req.updates) do
    local hit = false
    for i, doc in ipairs(coll) do
      if matches(doc, u.q) and (u.multi or not hit) then
        coll[i] = apply_update(doc, u.u)
        hit = true
        n = n + 1
      end
    end
    if not hit and u.upsert then
      local doc = {}
      for k, v in pairs(u.q) do doc[k] = v end
      coll[#coll + 1] = apply_update(doc, u.u)
      n = n + 1
    end
  end
  return { n = n, nModified = n, ok = 1 }
end

function handle.delete(req)
  local coll = coll_of(req, req.delete)
  local n = 0
  for _, d in ipairs(req.deletes) do
    local i = 1
    while i <= #coll do
      if matches(coll[i], d.q) and not (d.limit == 1 and n > 0) then
        table.remove(coll, i)
        n = n + 1
      else
        i = i + 1
      end
    end
  end
  return { n = n, ok = 1 }
end

function handle.findAndModify(req)
  local coll = coll_of(req, req.findAndModify)
  for i, doc in ipairs(coll) do
    if matches(doc, req.query) then
      if req.remove then
        table.remove(coll, i)
        return { value = doc, ok = 1 }
      end
      local old = {}
      for k, v in pairs(doc) do old[k] = v end
      coll[i] = apply_update(doc, req.update)
      return { value = req.new and coll[i] or old, ok = 1 }
    end
  end
  return { value = bson.null, ok = 1 }
end

function handle.drop(req)
  local _, ns = coll_of(req, req.drop)
  collections[ns] = nil
  return { ns = ns, ok = 1 }
end

function handle.createIndexes()
  return { numIndexesBefore = 1, numIndexesAfter = 2, ok = 1 }
end

local sessions = {} -- session id bytes -> true
local next_session = 0
local txn -- { session =, number =, snapshot = } of the transaction in progress

function handle.startSession(req)
  if req["$db"] == "nosessions" then return { ok = 0, errmsg = "sessions refused", code = 1 } end
  next_session = next_session + 1
  local id = string.format("session-%010d", next_session)
  sessions[id] = true
  return { id = { id = bson.binary(id) }, timeoutMinutes = 30, ok = 1 }
end

-- A session id as the driver sent it back (bson.decode marks a binary's bytes).
local function session_key(lsid)
  return type(lsid) == "table" and type(lsid.id) == "string" and lsid.id:match "session%-%d+" or nil
end

function handle.endSessions(req)
  for _, lsid in ipairs(req.endSessions) do sessions[session_key(lsid) or ""] = nil end
  return { ok = 1 }
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end

-- Checks the transaction fields of a request; returns an error reply or nil.
local function transaction_error(req, types)
  local key = session_key(req.lsid)
  if not key or not sessions[key] then return { ok = 0, errmsg = "unknown lsid", code = 206 } end
  if types.txnNumber ~= 18 then
    return { ok = 0, errmsg = "BSON field 'OperationSessionInfo.txnNumber' is the wrong type, expected type 'long'", code = 14 }
  end
  if req.autocommit ~= false then return { ok = 0, errmsg = "autocommit must be false", code = 50768 } end
  if req.startTransaction then
    if txn then return { ok = 0, errmsg = "a transaction is in progress", code = 251 } end
    txn = { session = key, number = req.txnNumber, snapshot = copy(collections) }
  elseif not txn or txn.session ~= key or txn.number ~= req.txnNumber then
    return { ok = 0, errmsg = "Transaction " .. tostring(req.txnNumber) .. " has been aborted.", code = 251 }
  end
end

function handle.commitTransaction()
  txn = nil
  return { ok = 1 }
end

function handle.abortTransaction()
  collections = txn.snapshot
  txn = nil
  return { ok = 1 }
end

function handle.bulkWrite(req)
  local results, counts = {}, { nInserted = 0, nMatched = 0, nModified = 0, nUpserted = 0, nDeleted = 0 }
  local errors = 0
  for i, op in ipairs(req.ops) do
    local kind = op.insert and "insert" or op.update and "update" or "delete"
    local index = op[kind]
    local ns = req.nsInfo[index + 1].ns
    collections[ns] = collections[ns] or {}
    local coll = collections[ns]
    local result = { ok = 1, idx = i - 1, n = 0 }
    if kind == "insert" then
      for _, old in ipairs(coll) do
        if op.document._id ~= nil and old._id == op.document._id then
          result = { ok = 0, idx = i - 1, code = 11000, errmsg = "E11000 duplicate key error" }
        end
      end
      if result.ok == 1 then
        coll[#coll + 1] = op.document
        result.n = 1
        counts.nInserted = counts.nInserted + 1
      end
    elseif kind == "update" then
      for j, doc in ipairs(coll) do
        if matches(doc, op.filter) and (op.multi or result.n == 0) then
          coll[j] = apply_update(doc, op.updateMods)
          result.n = result.n + 1
        end
      end
      counts.nMatched = counts.nMatched + result.n
      counts.nModified = counts.nModified + result.n
      if result.n == 0 and op.upsert then
        coll[#coll + 1] = apply_update(copy(op.filter), op.updateMods)
        result.n = 1
        counts.nUpserted = counts.nUpserted + 1
      end
    else
      local j = 1
      while j <= #coll do
        if matches(coll[j], op.filter) and (op.multi or result.n == 0) then
          table.remove(coll, j)
          result.n = result.n + 1
        else
          j = j + 1
        end
      end
      counts.nDeleted = counts.nDeleted + result.n
    end
    results[#results + 1] = result
    if result.ok ~= 1 then
      errors = errors + 1
      if req.ordered ~= false then break end
    end
  end
  local r = { cursor = { id = bson.int64(0), ns = "admin.$cmd.bulkWrite", firstBatch = results },
    nErrors = errors, ok = 1 }
  for k, v in pairs(counts) do r[k] = v end
  return r
end

local function message(response_to, body, opcode, flags)
  local msg = spack("<i4i4i4I4B", 0, response_to, opcode or 2013, flags or 0, 0) .. body
  return spack("<i4", #msg + 4) .. msg
end

local misbehave = {}
function misbehave.truncated(fd, id)
  local body = tostring(bson.encode { ok = 1, payload = ("x"):rep(40) })
  body = spack("<i4", #body + 100) .. body:sub(5)
  socket.write(fd, message(id, body))
end
function misbehave.badopcode(fd, id)
  socket.write(fd, message(id, tostring(bson.encode { ok = 1 }), 1))
end
function misbehave.twosections(fd, id)
  socket.write(fd, message(id, tostring(bson.encode { ok = 1 }) .. "\1\5\0\0\0\0"))
end
function misbehave.shortreply(fd)
  socket.write(fd, spack("<i4", 10) .. ("\0"):rep(6))
end
function misbehave.closeconn(fd)
  socket.close(fd)
end

local function serve(fd)
  socket.start(fd)
  while true do
    local head = socket.read(fd, 4)
    if not head then return end
    local msg = socket.read(fd, driver.length(head))
    if not msg then return end
    local id, flags = sunpack("<i4", msg), sunpack("<I4", msg, 13)
    local _, _, docptr = driver.reply(msg) -- requests have the reply's layout
    local req = bson.decode(docptr)
    local raw = msg:sub(18) -- after requestID, responseTo, opCode, flagBits, kind
    local layout = layout_of(raw)
    local name = layout.keys[1]
    requests[#requests + 1] = { name = name, keys = layout.keys, types = layout.types,
      nested = layout.nested, doc = req, flags = flags }
    if misbehave[name] then
      misbehave[name](fd, id)
      if name == "closeconn" then return end
    else
      local f = handle[name]
      local r = req.lsid and req.txnNumber and transaction_error(req, layout.types)
      r = r or f and f(req) or { ok = 0, errmsg = "no such command: '" .. name .. "'", code = 59 }
      if flags & 2 == 0 then socket.write(fd, message(id, tostring(bson.encode(r)))) end
    end
  end
end

skynet.start(function()
  local lid, _, port = socket.listen("127.0.0.1", 0)
  socket.start(lid, function(fd) skynet.fork(serve, fd) end)
  skynet.dispatch("lua", function(_, _, cmd)
    if cmd == "port" then
      skynet.retpack(port)
    else
      skynet.retpack(requests)
    end
  end)
end)
