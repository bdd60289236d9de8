-- skynet.db.mongo.transaction, loaded by mongo.enable "transaction": db:run_transaction(f)
-- runs f in a server session as one multi-document transaction (docs/DATABASES.md).
-- MongoDB accepts transactions only on a replica set member or mongos.
local bson = require "bson"

local M = {}

-- txnNumber wraps at this value, as skynet's does.
local TXN_LIMIT = 9999999

function M.init(depend)
  local db_meta = assert(depend.mongo_db)
  local werror = assert(depend.werror)
  local plain_run, plain_send = db_meta.runCommand, db_meta.send_command

  local txn_number = 0
  -- coroutine -> the fields every command of its transaction carries; weak so a coroutine
  -- that dies mid-transaction does not pin its entry
  local active = setmetatable({}, { __mode = "k" })

  -- Appends the transaction's fields to args; startTransaction goes on the first command only.
  local function with_transaction(fields, args)
    local n, count = args.n, #fields
    for i = 1, count do args[n + i] = fields[i] end
    fields[7], fields[8] = nil, nil
    return table.unpack(args, 1, n + count)
  end

  function db_meta:runCommand(cmd, value, ...)
    local fields = active[coroutine.running()]
    if not fields then return plain_run(self, cmd, value, ...) end
    return plain_run(self, cmd, value, with_transaction(fields, table.pack(...)))
  end

  -- Fire-and-forget inside a transaction: MongoDB refuses a writeConcern there.
  function db_meta:send_command(cmd, value, ...)
    local fields = active[coroutine.running()]
    if not fields then return plain_send(self, cmd, value, ...) end
    if value == nil then value = 1 end
    return depend.request(self, depend.MORE_TO_COME, bson.encode_order(cmd, value, "$db", self.name,
      with_transaction(fields, table.pack(...))))
  end

  function db_meta:startSession_()
    return self:runCommand "startSession"
  end

  function db_meta:endSessions_(session_id)
    return self:runCommand("endSessions", { bson.encode(session_id) })
  end

  -- The reply of commitTransaction or abortTransaction; a failure becomes an errmsg reply so
  -- the caller still ends its session.
  local function finish(db, cmd)
    local ok, r = pcall(db.connection.runCommand, db.connection, cmd)
    if not ok then return { errmsg = tostring(r) } end
    return r
  end

  function db_meta:commit_transaction_() return finish(self, "commitTransaction") end
  function db_meta:abort_transaction_() return finish(self, "abortTransaction") end

  -- Runs f in a transaction of the calling coroutine: commits when f returns, aborts when it
  -- raises. Returns nil on success, else the error (f's traceback or the server's errmsg).
  function db_meta:run_transaction(f)
    local co = coroutine.running()
    if active[co] then return "run_transaction: already in a transaction" end
    local session = self:startSession_()
    if session.ok ~= 1 or type(session.id) ~= "table" then
      return session.errmsg or "startSession failed"
    end
    txn_number = txn_number % TXN_LIMIT + 1
    active[co] = { "lsid", bson.encode(session.id), "txnNumber", bson.int64(txn_number),
      "autocommit", false, "startTransaction", true }
    local ok, err = xpcall(f, debug.traceback)
    local r
    if ok then
      r = self:commit_transaction_()
    else
      r = self:abort_transaction_()
    end
    active[co] = nil
    pcall(self.endSessions_, self, session.id) -- the server times idle sessions out anyway
    if ok then
      local _
      _, err = werror(r)
    end
    return err
  end
end

return M
