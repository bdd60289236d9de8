-- debug_console (docs/LUA_SERVICES.md): an operator's console over the launcher,
-- the debug protocol and the native commands.
--
-- skynet.newservice("debug_console", [ip,] port)   -- ip defaults to 127.0.0.1
--
-- The command layer does not know its transport. `execute(line [, body])` takes one input
-- line and returns the output lines (an array of strings):
--   * `cmd arg...`          the words of the line; the result, then `<CMD OK>`, or the error
--                           message, then `<CMD Error>`
--   * `GET /cmd/a/b ...`    an HTTP request line: runs `cmd a b`
--   * `POST ...`            runs `body` (the request body, read by the transport)
--   * a blank line          nothing
-- The transport's own jobs: sending `Welcome to skynet console` on connect, writing each
-- line followed by "\n", and for GET / POST wrapping the lines in an HTTP reply and closing.
--
-- With a port it listens on TCP (logging `Start debug console at <ip>:<port>`, then
-- `<peer> connected` / `<peer> disconnect` per connection). It is also reached in-process
-- through the lua protocol, which tests use:
--   skynet.call(console, "lua", "line", text [, body]) -> the output lines joined with "\n"

local skynet = require "skynet"
local core = require "skynet.core"
local codecache = require "skynet.codecache"
local memory = require "skynet.memory"
local socket = require "skynet.socket"

local args = table.pack(...)

local COMMAND = {}
local HELP = {}

local CONNECTED = {} -- commands that take the console connection first (nil in-process)
-- A command's result meaning "the output follows later, on the connection".
local DEFERRED = {}

local function define(name, help, f)
  COMMAND[name] = f
  HELP[name] = help
end

-- Errors meant for the operator: no position prefix.
local function fail(msg)
  error(msg, 0)
end

-- `:hex` is a full handle; `.name` a local name; anything else is hex on this node's harbor.
local function address(text)
  if type(text) ~= "string" then
    fail "Need an address"
  end
  local first = text:sub(1, 1)
  if first == "." then
    return skynet.localname(text) or fail "Not a valid name"
  end
  if first == ":" then
    return tonumber(text:sub(2), 16) or fail("Not a valid address " .. text)
  end
  local id = tonumber(text, 16) or fail("Not a valid address " .. text)
  return id | (skynet.harbor(skynet.self()) << 24)
end

-- Launcher timeouts in ticks: default 300, <= 0 means none (the launcher's convention).
local function ticks(text)
  if text == nil then
    return 300
  end
  return math.tointeger(tonumber(text)) or fail("Not a valid timeout " .. text)
end

local function launcher(cmd, ...)
  return skynet.call(".launcher", "lua", cmd, ...)
end

local function debug_call(addr, cmd, ...)
  return skynet.call(address(addr), "debug", cmd, ...)
end

-- A newservice-like call: the new service by address, `Exit`, or `Failed`.
local function started(name, launch, ...)
  local ok, handle = pcall(launch, ...)
  if not ok then
    return "Failed"
  end
  if handle == nil then
    return "Exit"
  end
  return { [skynet.address(handle)] = name }
end

local function on_off(text)
  if text == "on" then
    return true
  elseif text == "off" then
    return false
  end
  fail("Expected on or off, got " .. tostring(text))
end

define("help", "This help message", function()
  return HELP
end)

define("list", "List all the services", function()
  return launcher "LIST"
end)

define("stat", "stat [ti]: Dump all stats (timeout ti ticks, default 300, <= 0 none)", function(ti)
  return launcher("STAT", ticks(ti))
end)

define("mem", "mem [ti]: Show the memory of every service (timeout as stat)", function(ti)
  return launcher("MEM", ticks(ti))
end)

define("gc", "gc [ti]: Force every Lua service to collect garbage, then mem", function(ti)
  return launcher("GC", ticks(ti))
end)

define("start", "start name args...: Launch a new Lua service", function(name, ...)
  return started(name, skynet.newservice, name, ...)
end)

define("log", "log name args...: start, with the message log on", function(name, ...)
  return started(name, launcher, "LOGLAUNCH", "snlua", name, ...)
end)

define("snax", "snax name args...: Launch a new snax service", function(name, ...)
  return started(name, function(...)
    return require("skynet.snax").newservice(...).handle
  end, name, ...)
end)

define("service", "List the unique services", function()
  return skynet.call("SERVICE", "lua", "LIST")
end)

define("kill", "kill address: Kill a service", function(addr)
  return launcher("KILL", address(addr))
end)

define("exit", "exit address: Ask a Lua service to exit", function(addr)
  skynet.send(address(addr), "debug", "EXIT")
end)

define("info", "info address args...: The service's info_func result", function(addr, ...)
  return debug_call(addr, "INFO", ...)
end)

define("task", "task address: The coroutines a service waits in", function(addr)
  return debug_call(addr, "TASK")
end)

define("uniqtask", "uniqtask address: task, grouped by identical traceback", function(addr)
  return debug_call(addr, "UNIQTASK")
end)

define("killtask", "killtask address name: Kill a coroutine of a service", function(addr, name)
  return debug_call(addr, "KILLTASK", name)
end)

define("dbgcmd", "dbgcmd address CMD args...: Send any debug command", function(addr, cmd, ...)
  return debug_call(addr, cmd, ...)
end)

define("ping", "ping address: Round trip of a debug PING, in ticks", function(addr)
  local handle = address(addr)
  local t0 = skynet.now()
  skynet.call(handle, "debug", "PING")
  return tostring(skynet.now() - t0)
end)

define("inject", "inject address file args...: Run a local file in it", function(addr, file, ...)
  local handle = address(addr)
  if file == nil then
    fail "Need a file name"
  end
  local f = io.open(file, "rb") or fail("Can't open " .. file)
  local source = f:read "a"
  f:close()
  local ok, output = skynet.call(handle, "debug", "RUN", source, file, ...)
  if not ok then
    fail(output)
  end
  return output
end)

define("call", "call address exprs...: Call a service with the values", function(addr, ...)
  local handle = address(addr)
  -- The words were split on whitespace; the expressions are the rest of the line.
  local text = table.concat({ ... }, " ")
  local chunk, err = load("return " .. text, "=(console)", "t", {})
  if not chunk then
    fail(err)
  end
  local values = table.pack(pcall(chunk))
  if not values[1] then
    fail(tostring(values[2]))
  end
  return table.pack(skynet.call(handle, "lua", table.unpack(values, 2, values.n)))
end)

define("trace", "trace address [proto] [on|off]: Trace a protocol", function(addr, proto, flag)
  local handle = address(addr)
  if flag ~= nil then
    flag = on_off(flag)
  elseif proto == "on" or proto == "off" then
    proto, flag = nil, on_off(proto)
  end
  -- TRACELOG takes a non-string proto as the flag (proto lua).
  if proto == nil then
    return skynet.call(handle, "debug", "TRACELOG", flag)
  end
  return skynet.call(handle, "debug", "TRACELOG", proto, flag)
end)

define("logon", "logon address: Log the messages of a service", function(addr)
  core.command("LOGON", skynet.address(address(addr)))
end)

define("logoff", "logoff address: Stop logging the messages of a service", function(addr)
  core.command("LOGOFF", skynet.address(address(addr)))
end)

define("signal", "signal address [n]: Send the native signal n (default 0)", function(addr, n)
  local number = math.tointeger(tonumber(n or 0)) or fail("Not a valid signal " .. tostring(n))
  core.command("SIGNAL", skynet.address(address(addr)) .. " " .. number)
end)

define("getenv", "getenv name: The value of an environment key", function(name)
  return skynet.getenv(name or fail "Need a name")
end)

define("setenv", "setenv name value: Add an environment key", function(name, value)
  if name == nil or value == nil then
    fail "Need a name and a value"
  end
  skynet.setenv(name, value)
end)

define("clearcache", "Clear the Lua code cache", function()
  codecache.clear()
end)

define("netstat", "netstat: The node's sockets", function()
  local list = socket.netstat()
  for _, info in ipairs(list) do
    info.address = string.format(":%08x", info.address)
  end
  return list
end)

define("cmem", "cmem: Bytes held by each service's allocator, with the total and the live blocks", function()
  local result = {}
  for handle, bytes in pairs(memory.info()) do
    result[skynet.address(handle)] = bytes
  end
  result.total = memory.total()
  result.block = memory.block()
  return result
end)

define("jmem", "jmem: The process allocator's statistics (glibc malloc's mallinfo2)", function()
  return memory.jestat()
end)

-- skynet's heap profiling is jemalloc's: skynet.memory raises its own reason.
define("dumpheap", "dumpheap: Dump the heap profile (needs jemalloc)", function()
  return memory.dump()
end)
define("profactive", "profactive [on|off]: Heap profiling on or off (needs jemalloc)", function(flag)
  return memory.profactive(flag == "on")
end)

-- The operator's lines go to the debugged service until it answers (the operator typed
-- `cont`, or the service died); the outcome is then written like any command's.
local finish_lines

define("debug", "debug address: Debug a Lua service (watch, s, n, c, cont)", function(conn, addr)
  if not conn then
    fail "debug: needs a console connection over TCP"
  end
  local target = address(addr)
  local agent = skynet.newservice "debug_agent"
  conn.debugging = function(line)
    skynet.send(agent, "lua", "cmd", line)
  end
  skynet.fork(function()
    local ok, attached, err = pcall(skynet.call, agent, "lua", "start", target, conn.id)
    conn.debugging = nil
    local lines
    if not ok then
      lines = finish_lines({}, false, attached)
    elseif not attached then
      lines = finish_lines({}, false, err)
    else
      lines = finish_lines({}, true)
    end
    socket.write(conn.id, table.concat(lines, "\n") .. "\n")
  end)
  return DEFERRED
end)
CONNECTED.debug = true

-- Result printing ---------------------------------------------------------------------------

local function by_string(a, b)
  return tostring(a) < tostring(b)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = k
  end
  table.sort(keys, by_string)
  return keys
end

local function value_text(v)
  if type(v) ~= "table" then
    return tostring(v)
  end
  local parts = {}
  for _, k in ipairs(sorted_keys(v)) do
    parts[#parts + 1] = tostring(k) .. ":" .. tostring(v[k])
  end
  return table.concat(parts, "\t")
end

local function print_result(out, result)
  if type(result) == "table" then
    for _, k in ipairs(sorted_keys(result)) do
      out[#out + 1] = tostring(k) .. "\t" .. value_text(result[k])
    end
  elseif result ~= nil then
    out[#out + 1] = tostring(result)
  end
end

-- The command layer -------------------------------------------------------------------------

-- The outcome lines of a command: its result and `<CMD OK>`, or its error and `<CMD Error>`.
function finish_lines(out, ok, result)
  if ok then
    print_result(out, result)
    out[#out + 1] = "<CMD OK>"
  else
    out[#out + 1] = tostring(result)
    out[#out + 1] = "<CMD Error>"
  end
  return out
end

-- Unpacking the words is inside the caller's pcall: too many of them is an error like any other.
local function call_command(f, conn, words)
  if CONNECTED[words[1]] then
    return f(conn, table.unpack(words, 2))
  end
  return f(table.unpack(words, 2))
end

local function run_words(cmdline, conn)
  local words = {}
  for word in cmdline:gmatch "%S+" do
    words[#words + 1] = word
  end
  local out = {}
  if #words == 0 then
    return out
  end
  local f = COMMAND[words[1]]
  if not f then
    out[1] = "Invalid command, type help for command list"
    out[2] = ""
    out[3] = "<CMD Error>"
    return out
  end
  local ok, result = pcall(call_command, f, conn, words)
  if ok and result == DEFERRED then
    return out
  end
  return finish_lines(out, ok, result)
end

local function unescape(text)
  return (text:gsub("%%(%x%x)", function(hex)
    return string.char(tonumber(hex, 16))
  end))
end

-- `GET /cmd/a/b?query HTTP/1.1` -> `cmd a b`.
local function http_get_command(line)
  local target = line:match "^GET%s+(%S*)" or ""
  local path = target:match "^[^?#]*"
  return (unescape(path):gsub("/", " "))
end

-- `conn` is the TCP connection ({ id }) a line came from, nil in-process or over HTTP.
local function execute(line, body, conn)
  if line:sub(1, 4) == "GET " then
    return run_words(http_get_command(line))
  elseif line:sub(1, 5) == "POST " then
    return run_words(body or "")
  end
  return run_words(line, conn)
end

-- The TCP side ------------------------------------------------------------------------------

-- What one connection may send (docs/LUA_SERVICES.md). A config key replaces a default.
local function limit(key, default)
  local text = skynet.getenv(key)
  if text == nil then
    return default
  end
  local n = math.tointeger(tonumber(text))
  if not n or n <= 0 then
    error(string.format("debug_console: %s must be a positive integer, got %s", key, text))
  end
  return n
end

local LINE_LIMIT = limit("console_line_limit", 8192) -- a command, request or header line
local HEADER_LIMIT = limit("console_header_limit", 100) -- header lines of one request
local BODY_LIMIT = limit("console_body_limit", 8192) -- skynet's cap on a request body
local CONNECTION_LIMIT = limit("console_connection_limit", 64)

-- A refusal of what a client sent: the reason, and the HTTP status when it answers a request.
local refusal = {}

local function refuse(status, reason, ...)
  error(setmetatable({ status = status, reason = string.format(reason, ...) }, refusal), 0)
end

local STATUS = {
  [200] = "OK",
  [400] = "Bad Request",
  [413] = "Content Too Large",
  [414] = "URI Too Long",
  [431] = "Request Header Fields Too Large",
  [500] = "Internal Server Error",
  [501] = "Not Implemented",
}

local function http_reply(id, status, text)
  socket.write(id, string.format(
    "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
    status, STATUS[status], #text, text))
end

-- Reads lines and bodies off a connection. socket.readline would buffer a line that never ends
-- without bound; here a line is given up past LINE_LIMIT, and socket.read hands over at most
-- what the socket buffers before it pauses.
local reader = {}
reader.__index = reader

local function new_reader(id)
  return setmetatable({ id = id, chunk = "", at = 1 }, reader)
end

-- The next line without its "\n" or "\r\n"; nil once the peer closed; false and the line's
-- first bytes when it is longer than LINE_LIMIT.
function reader:line()
  local parts, size = {}, 0
  while true do
    local chunk, at = self.chunk, self.at
    local stop = chunk:find("\n", at, true)
    size = size + (stop or #chunk + 1) - at
    if size > LINE_LIMIT + 1 then -- + 1: a "\r" before the "\n"
      return false, (table.concat(parts) .. chunk:sub(at, at + 4)):sub(1, 5)
    end
    if stop then
      parts[#parts + 1] = chunk:sub(at, stop - 1)
      self.at = stop + 1
      local line = table.concat(parts)
      if line:byte(-1) == 13 then
        line = line:sub(1, -2)
      end
      if #line > LINE_LIMIT then
        return false, line:sub(1, 5)
      end
      return line
    end
    parts[#parts + 1] = chunk:sub(at)
    local more = socket.read(self.id)
    if not more then
      return nil
    end
    self.chunk, self.at = more, 1
  end
end

-- The next n bytes; nil once the peer closed before they came.
function reader:bytes(n)
  local chunk, at = self.chunk, self.at
  local have = #chunk - at + 1
  if have >= n then
    self.at = at + n
    return chunk:sub(at, at + n - 1)
  end
  self.chunk, self.at = "", 1
  local rest = socket.read(self.id, n - have)
  return rest and chunk:sub(at) .. rest
end

-- Linear in the text's length, whatever its spaces (a lazy pattern is not).
local function trim(text)
  local first = text:find "%S"
  if not first then
    return ""
  end
  return text:sub(first, text:match ".*()%S")
end

-- A Content-Length value: digits only, at most BODY_LIMIT. Compared as digits, since a number
-- of 20 digits would not fit an integer.
local function content_length(value)
  if not value:find "^%d+$" then
    refuse(400, "Bad Content-Length: %s", value:sub(1, 32))
  end
  local digits = value:match "^0*(%d*)$"
  if #digits > #tostring(BODY_LIMIT) or (tonumber(digits) or 0) > BODY_LIMIT then
    refuse(413, "Request body too large: more than %d bytes", BODY_LIMIT)
  end
  return tonumber(digits) or 0
end

-- The header lines of a request: its Content-Length (0 without one), or nil if the peer left.
local function read_headers(r)
  local length, count = nil, 0
  while true do
    local header = r:line()
    if header == nil then
      return nil
    elseif header == false then
      refuse(431, "Header line too long: more than %d bytes", LINE_LIMIT)
    elseif header == "" then
      return length or 0
    end
    count = count + 1
    if count > HEADER_LIMIT then
      refuse(431, "Too many header lines: more than %d", HEADER_LIMIT)
    end
    local name, value = header:match "^([^:]*):(.*)$"
    if not name or name == "" or name:find "%s" then
      refuse(400, "Bad header line")
    end
    name = name:lower()
    if name == "content-length" then
      local n = content_length(trim(value))
      if length and n ~= length then
        refuse(400, "Conflicting Content-Length")
      end
      length = n
    elseif name == "transfer-encoding" then
      refuse(501, "Transfer-Encoding is not supported")
    end
  end
end

-- One HTTP request whose first line is `request`: the headers, then the body of a POST.
local function serve_http(conn, request)
  conn.http = true
  local length = read_headers(conn.reader)
  if not length then
    return
  end
  local body
  if request:sub(1, 5) == "POST " and length > 0 then
    body = conn.reader:bytes(length)
    if not body then
      return
    end
  end
  http_reply(conn.id, 200, table.concat(execute(request, body), "\n") .. "\n")
end

-- The lines of a connection until it closes or sends an HTTP request.
local function converse(conn)
  while true do
    local line, head = conn.reader:line()
    if line == nil then
      return
    elseif line == false then
      if head:sub(1, 4) == "GET " or head == "POST " then
        refuse(414, "Request line too long: more than %d bytes", LINE_LIMIT)
      end
      refuse(nil, "Line too long: more than %d bytes", LINE_LIMIT)
    end
    if conn.debugging then
      conn.debugging(line)
    elseif line:sub(1, 4) == "GET " or line:sub(1, 5) == "POST " then
      return serve_http(conn, line)
    else
      local out = execute(line, nil, conn)
      if #out > 0 then
        socket.write(conn.id, table.concat(out, "\n") .. "\n")
      end
    end
  end
end

-- A refusal as it is; any other error as a refusal with the first line of its text, logged
-- with its traceback.
local function as_refusal(err)
  if getmetatable(err) == refusal then
    return err
  end
  local text = tostring(err)
  skynet.error(debug.traceback(text, 2))
  return setmetatable({ reason = text:match "^[^\n]*" }, refusal)
end

-- A refusal goes back as an HTTP error reply once the request is HTTP, else as an error line.
local function answer(conn, err)
  skynet.error(string.format("%s refused: %s", conn.peer, err.reason))
  local status = err.status or (conn.http and 500)
  if status then
    http_reply(conn.id, status, err.reason .. "\n")
  else
    socket.write(conn.id, err.reason .. "\n<CMD Error>\n")
  end
end

local connections = 0

local function serve(id, peer)
  if not socket.start(id) then
    return
  end
  local conn = { id = id, peer = peer, reader = new_reader(id) }
  if connections >= CONNECTION_LIMIT then
    answer(conn, { reason = string.format("Too many connections: more than %d", CONNECTION_LIMIT) })
    socket.close(id)
    return
  end
  connections = connections + 1
  skynet.error(peer .. " connected")
  socket.write(id, "Welcome to skynet console\n")
  local ok, err = xpcall(converse, as_refusal, conn)
  if not ok then
    answer(conn, err)
  end
  if conn.debugging then
    conn.debugging "cont" -- the debugged service leaves debug mode
  end
  -- counted out before the close: a client that saw the close may connect again at once
  connections = connections - 1
  socket.close(id)
  skynet.error(peer .. " disconnect")
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, line, body)
    if cmd ~= "line" or type(line) ~= "string" then
      error("debug_console: expected \"line\", text, got " .. tostring(cmd))
    end
    skynet.retpack(table.concat(execute(line, body), "\n"))
  end)
  if args.n > 0 then
    local ip = args.n >= 2 and args[1] or "127.0.0.1"
    local port = tonumber(args[args.n])
    if not port then
      error("debug_console: not a port number: " .. tostring(args[args.n]))
    end
    local listener = socket.listen(ip, port)
    skynet.error(string.format("Start debug console at %s:%s", ip, port))
    socket.start(listener, function(id, peer)
      skynet.fork(serve, id, peer)
    end)
  end
end)
