-- skynet.db.redis: a Redis client over an order-mode socketchannel (docs/REDIS.md).
--
-- Every command is one channel request whose response function parses one RESP reply;
-- replies go to callers in FIFO order, so coroutines sharing a connection pipeline
-- implicitly. redis.watch opens a separate channel for pub/sub.

local socketchannel = require "skynet.socketchannel"

local byte, sub, format = string.byte, string.sub, string.format
local tostring, tointeger, tonumber = tostring, math.tointeger, tonumber
local type, select, ipairs, pairs = type, select, ipairs, pairs
local setmetatable, error, assert = setmetatable, error, assert
local pack = table.pack

local redis = {}

-- The largest bulk string or array a reply may announce (Redis' own proto-max-bulk-len).
-- A larger length is a protocol error, so a broken or hostile server cannot make the
-- client wait for (and buffer) gigabytes.
local MAX_LENGTH = 512 * 1024 * 1024
-- Arrays nested deeper than this are a protocol error too (Redis replies nest a few levels).
local MAX_DEPTH = 1000
-- A status, error or length line longer than this is a protocol error: the line is refused
-- as it arrives instead of being buffered without end (the native client's limit too).
local MAX_LINE = 64 * 1024

---------------------------------------------------------------------------------------------
-- Reply decoding. A response function returns ok, value; raising is a fatal stream error
-- (socketchannel closes the connection and fails every pending caller).

local function protocol_error(what, line)
  error(format("redis protocol error: %s %q", what, sub(line, 1, 64)), 0)
end

-- A length field of `$` or `*`: -1 is the null reply, anything else must be 0..MAX_LENGTH.
local function length_of(line)
  local n = tointeger(sub(line, 2))
  if n == nil or n < -1 or n > MAX_LENGTH then
    protocol_error("bad length", line)
  end
  return n
end

local read_response

local function read_array(sock, line, depth)
  local n = length_of(line)
  if n < 0 then return true, nil end
  if depth > MAX_DEPTH then protocol_error("arrays nested too deep at", line) end
  local items, ok = {}, true
  for i = 1, n do
    local item_ok, v = read_response(sock, depth)
    if not item_ok then ok = false end
    items[i] = v
  end
  return ok, items
end

-- depth: how many arrays enclose this reply (nil at the top).
function read_response(sock, depth)
  local line = sock:readline("\r\n", MAX_LINE)
  local kind = byte(line)
  if kind == 43 then -- '+'
    return true, sub(line, 2)
  elseif kind == 36 then -- '$'
    local n = length_of(line)
    if n < 0 then return true, nil end
    local bytes = sock:read(n + 2)
    if sub(bytes, -2) ~= "\r\n" then
      protocol_error("bulk string without CRLF after", line)
    end
    return true, sub(bytes, 1, -3)
  elseif kind == 58 then -- ':'
    local n = tonumber(sub(line, 2))
    if n == nil then protocol_error("bad integer", line) end
    return true, n
  elseif kind == 42 then -- '*'
    return read_array(sock, line, (depth or 0) + 1)
  elseif kind == 45 then -- '-'
    return false, sub(line, 2)
  end
  protocol_error("unknown reply type", line)
end

local function read_boolean(sock)
  local ok, v = read_response(sock)
  if not ok then return false, v end
  return true, v ~= 0
end

---------------------------------------------------------------------------------------------
-- Request encoding: a RESP array of bulk strings, handed to the channel as an array of
-- pieces (one socket write). Each argument is "\r\n$<len>\r\n" followed by its bytes, so
-- the pieces before an argument are one cached string; the request ends with "\r\n".

-- A table that makes missing entries with make(k) and keeps those with k <= limit (numeric
-- keys) or all of them (limit nil), so that odd lengths and counts do not pile up.
local function cache(make, limit)
  return setmetatable({}, {
    __index = function(t, k)
      local v = make(k)
      if limit == nil or k <= limit then t[k] = v end
      return v
    end,
  })
end

local arg_head = cache(function(len) return "\r\n$" .. len .. "\r\n" end, 4096)
local NIL_ARG = "\r\n$-1" -- Redis answers a protocol error and closes the connection
local count_head = cache(function(n) return "*" .. n end, 1024)

-- Appends the arguments t[1..n] to the pieces, from index k on; returns the last index.
local function append_args(pieces, k, t, n)
  for i = 1, n do
    local v = t[i]
    if v == nil then
      k = k + 1
      pieces[k] = NIL_ARG
    else
      v = tostring(v)
      pieces[k + 1] = arg_head[#v]
      pieces[k + 2] = v
      k = k + 2
    end
  end
  return k
end

-- The heads of one command: heads[n] = "*<n+1>\r\n$<len>\r\n<NAME>" for n arguments.
local function command_heads(name)
  local name_bulk = "\r\n$" .. #name .. "\r\n" .. name
  return cache(function(n) return count_head[n + 1] .. name_bulk end, 64)
end

local function encode(heads, t, n)
  local pieces = { heads[n] }
  local k = append_args(pieces, 1, t, n)
  pieces[k + 1] = "\r\n"
  return pieces
end

-- The request of a special method or an internal command (AUTH, SELECT, SUBSCRIBE, ...).
local internal_heads = cache(command_heads)
local function compose(name, ...)
  local args = pack(...)
  return encode(internal_heads[name], args, args.n)
end

---------------------------------------------------------------------------------------------
-- Connections

local command = {}
local meta = { __index = command } -- no __gc: only disconnect closes the channel

-- The channel's auth function: AUTH [username] password, then SELECT db, as ordinary
-- requests whose error replies make the connection attempt fail.
local function login(conf)
  local password, db = conf.auth, conf.db
  if password == nil and db == nil then return nil end
  local auth_req
  if password ~= nil then
    auth_req = conf.username and compose("AUTH", conf.username, password) or compose("AUTH", password)
  end
  local select_req = db ~= nil and compose("SELECT", db) or nil
  return function(channel)
    if auth_req then channel:request(auth_req, read_response) end
    if select_req then channel:request(select_req, read_response) end
  end
end

function redis.connect(conf)
  local channel = socketchannel.channel {
    host = conf.host,
    port = conf.port or 6379,
    auth = login(conf),
    nodelay = true,
    overload = conf.overload,
    timeout = conf.timeout,
  }
  channel:connect(true) -- one attempt: a refused or rejected connect raises here
  return setmetatable({ channel }, meta)
end

function command:disconnect()
  self[1]:close()
  setmetatable(self, nil)
end

-- Any other method is a command: created on first use, named in upper case.
local function command_method(name)
  local heads = command_heads(name)
  local no_args = heads[0] .. "\r\n"
  return function(self, v, ...)
    local channel = self[1]
    if v == nil then
      return channel:request(no_args, read_response)
    end
    if type(v) == "table" then
      return channel:request(encode(heads, v, v.n or #v), read_response)
    end
    local more = select("#", ...)
    if more == 0 then
      v = tostring(v)
      return channel:request({ heads[1], arg_head[#v], v, "\r\n" }, read_response)
    elseif more == 1 then
      local w = ...
      v = tostring(v)
      if w == nil then
        return channel:request({ heads[2], arg_head[#v], v, NIL_ARG, "\r\n" }, read_response)
      end
      w = tostring(w)
      return channel:request({ heads[2], arg_head[#v], v, arg_head[#w], w, "\r\n" }, read_response)
    end
    local args = pack(v, ...)
    return channel:request(encode(heads, args, args.n), read_response)
  end
end

setmetatable(command, {
  __index = function(t, k)
    local f = command_method(string.upper(k))
    t[k] = f
    return f
  end,
})

function command:exists(key)
  return self[1]:request(compose("EXISTS", key), read_boolean)
end

function command:sismember(key, member)
  return self[1]:request(compose("SISMEMBER", key, member), read_boolean)
end

-- ops: an array of commands {name, arg...} (names kept as given), sent in one write; their
-- replies are read by one response function, so nothing else on this connection interleaves.
function command:pipeline(ops, resp)
  assert(ops and #ops > 0, "pipeline is null")
  local pieces, k, count = {}, 0, 0
  for _, op in ipairs(ops) do
    count = count + 1
    k = k + 1
    local head, n = k, 0
    for _, v in ipairs(op) do
      v = tostring(v)
      pieces[k + 1] = arg_head[#v]
      pieces[k + 2] = v
      k = k + 2
      n = n + 1
    end
    -- an empty command gets no reply from Redis: its caller would wait forever
    if n == 0 then error("pipeline: command " .. count .. " is empty") end
    pieces[head] = count_head[n]
    k = k + 1
    pieces[k] = "\r\n"
  end
  if resp then
    return self[1]:request(pieces, function(sock)
      for _ = 1, count do
        local ok, out = read_response(sock)
        resp[#resp + 1] = { ok = ok, out = out }
      end
      return true, resp
    end)
  end
  return self[1]:request(pieces, function(sock)
    local ok, out
    for _ = 1, count do
      ok, out = read_response(sock)
    end
    return ok, out
  end)
end

---------------------------------------------------------------------------------------------
-- Pub/sub

local watch = {}
local watch_meta = {
  __index = watch,
  __gc = function(self) self.__sock:close() end,
}

-- After every (re)connect: log in, then re-send the confirmed subscriptions without
-- waiting (message() consumes the confirmations).
local function watch_login(conf, obj)
  local log_in = login(conf)
  return function(channel)
    if log_in then log_in(channel) end
    for pattern in pairs(obj.__psubscribe) do
      channel:request(compose("PSUBSCRIBE", pattern))
    end
    for name in pairs(obj.__subscribe) do
      channel:request(compose("SUBSCRIBE", name))
    end
  end
end

function redis.watch(conf)
  local obj = { __subscribe = {}, __psubscribe = {} }
  local channel = socketchannel.channel {
    host = conf.host,
    port = conf.port or 6379,
    auth = watch_login(conf, obj),
    nodelay = true,
  }
  obj.__sock = channel
  channel:connect(true)
  return setmetatable(obj, watch_meta)
end

function watch:disconnect()
  self.__sock:close()
  setmetatable(self, nil)
end

-- One command per argument, no reply awaited.
for _, name in ipairs { "subscribe", "psubscribe", "unsubscribe", "punsubscribe" } do
  local NAME = string.upper(name)
  watch[name] = function(self, ...)
    local channel = self.__sock
    for i = 1, select("#", ...) do
      channel:request(compose(NAME, (select(i, ...))))
    end
  end
end

-- Confirmations update the recorded subscriptions (restored after a reconnect).
local confirm = {
  subscribe = function(self, name) self.__subscribe[name] = true end,
  psubscribe = function(self, name) self.__psubscribe[name] = true end,
  unsubscribe = function(self, name) self.__subscribe[name] = nil end,
  punsubscribe = function(self, name) self.__psubscribe[name] = nil end,
}

-- Blocks until a message arrives: returns message, channel for `message` and
-- message, channel, pattern for `pmessage`.
function watch:message()
  local channel = self.__sock
  while true do
    local push = channel:response(read_response)
    if type(push) == "table" then
      local kind = push[1]
      if kind == "message" then
        return push[3], push[2]
      elseif kind == "pmessage" then
        return push[4], push[3], push[2]
      end
      local f = confirm[kind]
      if f and push[2] ~= nil then f(self, push[2]) end
    end
  end
end

return redis
