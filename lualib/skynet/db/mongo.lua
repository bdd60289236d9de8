-- skynet.db.mongo: a MongoDB client speaking OP_MSG over a session-mode socketchannel
-- (docs/DATABASES.md). Each request carries a request id; replies are matched by their
-- responseTo. The framing is the native skynet.mongo.driver; documents are bson.

local skynet = require "skynet"
local socketchannel = require "skynet.socketchannel"
local driver = require "skynet.mongo.driver"
local bson = require "bson"
local crypt = require "skynet.crypt"
local md5 = require "md5"

local format, concat, unpack = string.format, table.concat, table.unpack
local type, select, pairs, ipairs, next = type, select, pairs, ipairs, next
local tostring, tonumber, setmetatable, rawget, error = tostring, tonumber, setmetatable, rawget, error
local bson_encode, bson_encode_order, bson_decode = bson.encode, bson.encode_order, bson.decode

local mongo = {}
mongo.null = bson.null
mongo.maxkey = bson.maxkey
mongo.minkey = bson.minkey
mongo.type = bson.type

local MORE_TO_COME = 2
-- MongoDB's own limit on a message (maxMessageSizeBytes); a longer announced reply is an error.
local MAX_MESSAGE = 48000000

local client_meta, db_meta, collection_meta, cursor_meta = {}, {}, {}, {}

---------------------------------------------------------------------------------------------
-- Transport

-- The channel's response function: one reply, decoded. Raising closes the connection and
-- fails every pending request.
local function read_reply(sock)
  local len = driver.length(sock:read(4))
  if len < 16 or len > MAX_MESSAGE then
    error(format("Invalid mongo reply length %d", len + 4), 0)
  end
  local message = sock:read(len)
  local ok, response_to, docptr = driver.reply(message)
  if not ok then error("Invalid mongo reply", 0) end
  local doc = bson_decode(docptr) -- message stays alive until here
  return response_to, true, doc
end

local function request(db, flags, doc)
  local conn = db.connection
  local sock = conn.__sock
  local id = conn:genId()
  local req = driver.op_msg(id, flags, doc)
  if flags & MORE_TO_COME ~= 0 then
    sock:request(req)
    return { ok = 1 }
  end
  return sock:request(req, id)
end

---------------------------------------------------------------------------------------------
-- Authentication

local function parse_fields(text)
  local t = {}
  for k, v in text:gmatch "(%w+)=([^,]*)" do t[k] = v end
  return t
end

local function salt_password(password, salt, iterations)
  local block = crypt.hmac_sha1(password, salt .. "\0\0\0\1")
  local out = block
  for _ = 2, iterations do
    block = crypt.hmac_sha1(password, block)
    out = crypt.xor_str(out, block)
  end
  return out
end

function db_meta:auth_scram_sha1(username, password)
  local user = username:gsub("=", "=3D"):gsub(",", "=2C")
  local nonce = crypt.base64encode(crypt.randomkey())
  local first_bare = "n=" .. user .. ",r=" .. nonce
  local r = self:runCommand("saslStart", 1, "autoAuthorize", 1, "mechanism", "SCRAM-SHA-1",
    "payload", crypt.base64encode("n,," .. first_bare))
  if r.ok ~= 1 then return false end
  local conversation = r.conversationId
  local server_first = crypt.base64decode(r.payload or "")
  local fields = parse_fields(server_first)
  local rnonce, salt, iterations = fields.r, fields.s, tonumber(fields.i)
  if not rnonce or rnonce:sub(1, 12) ~= nonce then
    skynet.error "Server returned an invalid nonce."
    return false
  end
  if not salt or not iterations or iterations < 1 then return false end
  local without_proof = "c=biws,r=" .. rnonce
  local salted = salt_password(md5.sumhexa(username .. ":mongo:" .. password),
    crypt.base64decode(salt), iterations)
  local client_key = crypt.hmac_sha1(salted, "Client Key")
  local auth_message = first_bare .. "," .. server_first .. "," .. without_proof
  local proof = crypt.xor_str(client_key, crypt.hmac_sha1(crypt.sha1(client_key), auth_message))
  local server_signature = crypt.base64encode(
    crypt.hmac_sha1(crypt.hmac_sha1(salted, "Server Key"), auth_message))
  r = self:runCommand("saslContinue", 1, "conversationId", conversation,
    "payload", crypt.base64encode(without_proof .. ",p=" .. crypt.base64encode(proof)))
  if r.ok ~= 1 then return false end
  if parse_fields(crypt.base64decode(r.payload or "")).v ~= server_signature then
    skynet.error "Server returned an invalid signature."
    return false
  end
  if not r.done then
    r = self:runCommand("saslContinue", 1, "conversationId", conversation, "payload", "")
    if r.ok ~= 1 or not r.done then
      skynet.error "SASL conversation failed to complete."
      return false
    end
  end
  return true
end

function db_meta:auth_mongodb_cr(username, password)
  local r = self:runCommand "getnonce"
  if r.ok ~= 1 then return false end
  local key = md5.sumhexa(r.nonce .. username .. md5.sumhexa(username .. ":mongo:" .. password))
  r = self:runCommand("authenticate", 1, "user", username, "nonce", r.nonce, "key", key)
  return r.ok == 1
end

local function split_address(address)
  local host, port = address:match "^(.+):(%d+)$"
  return host or address, tonumber(port) or 27017
end

-- Run after every (re)connect: authenticate, then follow the replica set's primary.
local function auth_step(client, conf)
  local username, password = conf.username, conf.password
  local method = "auth_" .. (conf.authmod or "scram_sha1")
  local authdb = conf.authdb or "admin"
  return function()
    if username and password then
      local db = client:getDB(authdb)
      assert(db[method], "unknown authmod")
      assert(db[method](db, username, password))
    end
    local r = client:runCommand "ismaster"
    if r.ok ~= 1 then return end
    if r.hosts then
      local backup = {}
      for i, address in ipairs(r.hosts) do
        local host, port = split_address(address)
        backup[i] = { host = host, port = port }
      end
      client.__sock:changebackup(backup)
    end
    if r.ismaster then return end
    if r.primary then
      local host, port = split_address(r.primary)
      client.host, client.port = host, port
      client.__sock:changehost(host, port)
    else
      error("No primary return : " .. tostring(r.me))
    end
  end
end

---------------------------------------------------------------------------------------------
-- Client and databases

function mongo.client(conf)
  local first = conf.rs and conf.rs[1] or conf
  local backup
  if conf.rs then
    backup = {}
    for i = 2, #conf.rs do
      backup[#backup + 1] = { host = conf.rs[i].host, port = conf.rs[i].port or 27017 }
    end
  end
  local client = setmetatable({ host = first.host, port = first.port or 27017, __id = 0 }, client_meta)
  client.__sock = socketchannel.channel {
    host = client.host,
    port = client.port,
    response = read_reply,
    auth = auth_step(client, first),
    backup = backup,
    nodelay = true,
    overload = conf.overload,
  }
  client.__sock:connect(true)
  return client
end

client_meta.__index = function(self, key)
  return rawget(client_meta, key) or self:getDB(key)
end

client_meta.__tostring = function(self)
  return "[mongo client :\t" .. self.host .. ":" .. self.port .. "]"
end

function client_meta:genId()
  local id = (self.__id + 1) & 0x7fffffff
  self.__id = id
  return id
end

function client_meta:getDB(name)
  local db = rawget(self, name)
  if db then return db end
  db = setmetatable({ connection = self, name = name, full_name = name }, db_meta)
  self[name] = db
  return db
end

function client_meta:disconnect()
  if self.__sock then
    self.__sock:close()
    self.__sock = false
  end
end

function client_meta:runCommand(...)
  return self:getDB("admin"):runCommand(...)
end

function client_meta:logout()
  return self:runCommand "logout"
end

db_meta.__index = function(self, key)
  return rawget(db_meta, key) or self:getCollection(key)
end

db_meta.__tostring = function(self)
  return "[mongo db :\t" .. self.name .. "]"
end

function db_meta:getCollection(name)
  local coll = rawget(self, name)
  if coll then return coll end
  coll = setmetatable({
    connection = self.connection, name = name, full_name = self.full_name .. "." .. name,
    database = self,
  }, collection_meta)
  self[name] = coll
  return coll
end

function db_meta:runCommand(cmd, value, ...)
  if value == nil then value = 1 end
  return request(self, 0, bson_encode_order(cmd, value, "$db", self.name, ...))
end

function db_meta:send_command(cmd, value, ...)
  if value == nil then value = 1 end
  return request(self, MORE_TO_COME,
    bson_encode_order(cmd, value, "$db", self.name, "writeConcern", { w = 0 }, ...))
end

---------------------------------------------------------------------------------------------
-- Collections

collection_meta.__index = collection_meta

collection_meta.__tostring = function(self)
  return "[mongo collection :\t" .. self.full_name .. "]"
end

-- ok, err, reply of a write command
local function werror(r)
  local ok = r.ok == 1 and not r.writeErrors and not r.writeConcernError and not r.errmsg
  local err
  if not ok then
    if r.writeErrors then
      err = r.writeErrors[1].errmsg
    elseif r.writeConcernError then
      err = r.writeConcernError.errmsg
    else
      err = r.errmsg
    end
  end
  return ok, err, r
end

-- Appends key, value to an argument list of encode_order (nothing when value is nil).
local function optional_pair(args, key, value)
  if value ~= nil then
    local n = #args
    args[n + 1] = key
    args[n + 2] = value
  end
end

local function with_id(doc)
  if doc._id == nil then doc._id = bson.objectid() end
  return bson_encode(doc)
end

function collection_meta:insert(doc)
  return self.database:send_command("insert", self.name, "documents", { with_id(doc) })
end

function collection_meta:batch_insert(docs)
  local list = {}
  for i, doc in ipairs(docs) do list[i] = with_id(doc) end
  return self.database:send_command("insert", self.name, "documents", list)
end
collection_meta.insert_many = collection_meta.batch_insert

function collection_meta:raw_safe_insert(encoded)
  return werror(self.database:runCommand("insert", self.name, "documents", { encoded }))
end

function collection_meta:safe_insert(doc)
  return self:raw_safe_insert(bson_encode(doc))
end

function collection_meta:safe_batch_insert(docs)
  local list = {}
  for i, doc in ipairs(docs) do list[i] = bson_encode(doc) end
  return werror(self.database:runCommand("insert", self.name, "documents", list))
end
collection_meta.safe_insert_many = collection_meta.safe_batch_insert

local function update_doc(q, u, upsert, multi)
  return bson_encode_order("q", q, "u", u, "upsert", upsert and true or false,
    "multi", multi and true or false)
end

local function update_list(list)
  local out = {}
  for i, e in ipairs(list) do out[i] = update_doc(e.query, e.update, e.upsert, e.multi) end
  return out
end

function collection_meta:update(q, u, upsert, multi)
  return self.database:send_command("update", self.name, "updates", { update_doc(q, u, upsert, multi) })
end

function collection_meta:batch_update(list)
  return self.database:send_command("update", self.name, "updates", update_list(list))
end

function collection_meta:raw_safe_update(encoded)
  return werror(self.database:runCommand("update", self.name, "updates", { encoded }))
end

function collection_meta:safe_update(q, u, upsert, multi)
  return self:raw_safe_update(update_doc(q, u, upsert, multi))
end

function collection_meta:safe_batch_update(list)
  return werror(self.database:runCommand("update", self.name, "updates", update_list(list)))
end

local function delete_doc(q, single)
  return bson_encode_order("q", q, "limit", single and 1 or 0)
end

function collection_meta:delete(q, single)
  return self.database:send_command("delete", self.name, "deletes", { delete_doc(q, single) })
end

function collection_meta:raw_safe_delete(encoded)
  return werror(self.database:runCommand("delete", self.name, "deletes", { encoded }))
end

function collection_meta:safe_delete(q, single)
  return self:raw_safe_delete(delete_doc(q, single))
end

function collection_meta:safe_batch_delete(qs, single)
  local list = {}
  for i, q in ipairs(qs) do list[i] = delete_doc(q, single) end
  return werror(self.database:runCommand("delete", self.name, "deletes", list))
end

function collection_meta:findOne(query, projection)
  local r = self.database:runCommand("find", self.name, "filter", query or {}, "limit", 1,
    "projection", projection or {})
  if r.ok ~= 1 then error(r.errmsg or "Reply from mongod error", 2) end
  return r.cursor and r.cursor.firstBatch and r.cursor.firstBatch[1]
end

function collection_meta:find(query, projection)
  return setmetatable({
    __collection = self, __query = query or {}, __projection = projection or {},
    __sort = nil, __skip = 0, __limit = 0,
  }, cursor_meta)
end

function collection_meta:aggregate(pipeline, options)
  local c = self:find()
  c.__pipeline, c.__options = pipeline, options or {}
  return c
end

function collection_meta:drop()
  return self.database:runCommand("drop", self.name)
end

function collection_meta:dropIndex(name)
  return self.database:runCommand("dropIndexes", self.name, "index", name)
end

local FIND_AND_MODIFY_KEYS = { "query", "sort", "remove", "update", "new", "fields", "upsert" }

function collection_meta:findAndModify(doc)
  assert(doc.query, "findAndModify needs a query")
  assert(doc.update or doc.remove, "findAndModify needs an update or remove")
  local args = {}
  for _, k in ipairs(FIND_AND_MODIFY_KEYS) do
    if doc[k] ~= nil then
      args[#args + 1] = k
      args[#args + 1] = doc[k]
    end
  end
  return self.database:runCommand("findAndModify", self.name, unpack(args))
end

-- The index description of createIndex's three forms.
local function make_index(first, ...)
  local keys, options = {}, {}
  if type(first) == "string" then
    keys[1] = { first, 1 }
    for i = 1, select("#", ...) do keys[#keys + 1] = { (select(i, ...)), 1 } end
  elseif first[1] ~= nil then
    for _, kv in ipairs(first) do
      local k, v = next(kv)
      keys[#keys + 1] = { k, v }
    end
    for k, v in pairs(first) do
      if math.type(k) ~= "integer" then options[k] = v end
    end
  else
    for k, v in pairs(first) do keys[#keys + 1] = { k, v } end
    table.sort(keys, function(a, b) return a[1] < b[1] end)
    for k, v in pairs((...) or {}) do options[k] = v end
  end
  local flat, names = {}, {}
  for _, kv in ipairs(keys) do
    flat[#flat + 1] = kv[1]
    flat[#flat + 1] = kv[2]
    names[#names + 1] = kv[1] .. "_" .. tostring(kv[2])
  end
  local args = { "name", options.name or concat(names, "_"), "key", bson_encode_order(unpack(flat)) }
  for k, v in pairs(options) do
    if k ~= "name" then optional_pair(args, k, v) end
  end
  return bson_encode_order(unpack(args))
end

function collection_meta:createIndex(...)
  return self.database:runCommand("createIndexes", self.name, "indexes", { make_index(...) })
end
collection_meta.ensureIndex = collection_meta.createIndex

function collection_meta:createIndexes(...)
  local list = {}
  for i = 1, select("#", ...) do list[i] = make_index((select(i, ...))) end
  return self.database:runCommand("createIndexes", self.name, "indexes", list)
end

---------------------------------------------------------------------------------------------
-- Cursors

cursor_meta.__index = cursor_meta

function cursor_meta:sort(first, ...)
  if select("#", ...) == 0 then
    self.__sort = bson_encode(first)
  else
    local flat = {}
    for _, t in ipairs { first, ... } do
      local k, v = next(t)
      optional_pair(flat, k, v)
    end
    self.__sort = bson_encode_order(unpack(flat))
  end
  return self
end

function cursor_meta:skip(n) self.__skip = n return self end
function cursor_meta:limit(n) self.__limit = n return self end
function cursor_meta:hint(name) self.__hint = name return self end
function cursor_meta:maxTimeMS(ms) self.__maxTimeMS = ms return self end
function cursor_meta:batchSize(n) self.__batchSize = n return self end



local function first_request(self)
  local coll = self.__collection
  local args = {}
  if self.__pipeline then
    local pipeline = {}
    for i, stage in ipairs(self.__pipeline) do pipeline[i] = stage end
    if self.__sort then pipeline[#pipeline + 1] = bson_encode_order("$sort", self.__sort) end
    if self.__skip > 0 then pipeline[#pipeline + 1] = { ["$skip"] = self.__skip } end
    if self.__limit > 0 then pipeline[#pipeline + 1] = { ["$limit"] = self.__limit } end
    args = { "pipeline", pipeline, "cursor", { batchSize = self.__batchSize } }
    for k, v in pairs(self.__options) do optional_pair(args, k, v) end
    return coll.database:runCommand("aggregate", coll.name, unpack(args))
  end
  args = { "filter", self.__query, "sort", self.__sort or {}, "projection", self.__projection }
  if self.__skip > 0 then optional_pair(args, "skip", self.__skip) end
  if self.__limit > 0 then optional_pair(args, "limit", self.__limit) end
  optional_pair(args, "batchSize", self.__batchSize)
  optional_pair(args, "hint", self.__hint)
  optional_pair(args, "maxTimeMS", self.__maxTimeMS)
  return coll.database:runCommand("find", coll.name, unpack(args))
end

local function fetch(self)
  local coll = self.__collection
  local r
  if not self.__started then
    r = first_request(self)
    self.__started = true
    self.__left = self.__limit > 0 and self.__limit or nil
  else
    local batch = self.__batchSize
    if self.__left and (batch == nil or batch > self.__left) then batch = self.__left end
    local args = { "collection", coll.name }
    optional_pair(args, "batchSize", batch)
    r = coll.database:runCommand("getMore", bson.int64(self.__cursor), unpack(args))
  end
  if r.ok ~= 1 then error(r.errmsg or "Reply from mongod error", 3) end
  local cursor = r.cursor or {}
  self.__document = cursor.firstBatch or cursor.nextBatch or {}
  self.__ptr = 1
  self.__cursor = cursor.id or 0
  if self.__left then
    self.__left = self.__left - #self.__document
    if self.__left <= 0 and self.__cursor ~= 0 then self:close() end
  end
end

function cursor_meta:hasNext()
  while true do
    if self.__ptr and self.__ptr <= #self.__document then return true end
    if self.__started and (self.__cursor == 0 or (self.__left and self.__left <= 0)) then
      return false
    end
    fetch(self)
  end
end

function cursor_meta:next()
  if self.__ptr == nil then error("Call\thasNext\tfirst", 2) end
  local doc = self.__document[self.__ptr]
  self.__ptr = self.__ptr + 1
  return doc
end

function cursor_meta:close()
  if self.__cursor and self.__cursor ~= 0 then
    local coll = self.__collection
    coll.database:send_command("killCursors", coll.name, "cursors", { bson.int64(self.__cursor) })
    self.__cursor = 0
  end
end

function cursor_meta:count(with_limit_and_skip)
  local coll = self.__collection
  if self.__pipeline then
    local pipeline = {}
    for i, stage in ipairs(self.__pipeline) do pipeline[i] = stage end
    pipeline[#pipeline + 1] = { ["$count"] = "count" }
    local r = coll.database:runCommand("aggregate", coll.name, "pipeline", pipeline, "cursor", {})
    if r.ok ~= 1 then error(r.errmsg or "Reply from mongod error", 2) end
    local first = r.cursor and r.cursor.firstBatch and r.cursor.firstBatch[1]
    return first and first.count or 0
  end
  local args = { "query", self.__query }
  if with_limit_and_skip then
    if self.__skip > 0 then optional_pair(args, "skip", self.__skip) end
    if self.__limit > 0 then optional_pair(args, "limit", self.__limit) end
  end
  local r = coll.database:runCommand("count", coll.name, unpack(args))
  if r.ok ~= 1 then error(r.errmsg or "Reply from mongod error", 2) end
  return r.n
end

-- bulkWrite (MongoDB 8.0): one command over several collections. Each op is
-- { op = "insert"|"update"|"delete", collection = "<db>.<coll>", ... }: insert takes `insert`
-- (the document); update `filter`, `update`, `multi`, `upsert`, `hint`, `constants`,
-- `collation`; delete `filter`, `multi`, `hint`, `collation` (skynet's `hit` is taken for
-- `hint`). Returns ok, err, reply and the 1-based positions in the first batch of the failed
-- ops.
local bulk_op = {}

function bulk_op.insert(index, op)
  return bson_encode_order("insert", index, "document", bson_encode(op.insert))
end

function bulk_op.update(index, op)
  local args = { "update", index, "filter", op.filter, "updateMods", op.update,
    "multi", op.multi or false, "upsert", op.upsert or false }
  optional_pair(args, "hint", op.hint or op.hit)
  optional_pair(args, "constants", op.constants)
  optional_pair(args, "collation", op.collation)
  return bson_encode_order(unpack(args))
end

function bulk_op.delete(index, op)
  local args = { "delete", index, "filter", op.filter, "multi", op.multi or false }
  optional_pair(args, "hint", op.hint or op.hit)
  optional_pair(args, "collation", op.collation)
  return bson_encode_order(unpack(args))
end

function client_meta:bulkWrite(ops, comment, ordered, bypass_validation, errors_only)
  local encoded, ns_info, ns_index = {}, {}, {}
  for i, op in ipairs(ops) do
    local encode = bulk_op[op.op]
    if not encode then error("bulkWrite: unknown op " .. tostring(op.op), 2) end
    if type(op.collection) ~= "string" then error("bulkWrite: op " .. i .. " has no collection", 2) end
    local index = ns_index[op.collection]
    if not index then
      index = #ns_info -- nsInfo is indexed from 0
      ns_index[op.collection] = index
      ns_info[index + 1] = { ns = op.collection }
    end
    encoded[i] = encode(index, op)
  end
  local args = { "bulkWrite", 1, "ops", encoded, "nsInfo", ns_info }
  optional_pair(args, "ordered", ordered)
  optional_pair(args, "bypassDocumentValidation", bypass_validation)
  optional_pair(args, "comment", comment)
  optional_pair(args, "errorsOnly", errors_only)
  local r = self:runCommand(unpack(args))
  local ok, err = werror(r)
  local failed
  if r.nErrors and r.nErrors ~= 0 and r.cursor then
    failed = {}
    local messages = { err and err .. ";" or "" }
    for i, result in ipairs(r.cursor.firstBatch or {}) do
      if result.ok ~= 1 then
        failed[#failed + 1] = i
        messages[#messages + 1] = tostring(result.errmsg) .. ";"
      end
    end
    err = concat(messages)
  end
  return ok, err, r, failed
end

-- mongo.enable(name) loads the extension skynet.db.mongo.<name> once ("transaction").
local enabled = {}
function mongo.enable(name)
  if enabled[name] then return end
  local extension = require("skynet.db.mongo." .. name)
  extension.init { mongo_db = db_meta, werror = werror, request = request,
    MORE_TO_COME = MORE_TO_COME }
  enabled[name] = true
end

return mongo
