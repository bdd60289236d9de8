-- The debug console's TCP side under abuse: oversized or malformed HTTP requests, endless lines,
-- floods, too many connections. Every probe goes over real TCP to a console the case starts.
-- After each one the connection was answered (an HTTP error status or a one-line error) and
-- closed, and the console still serves. Across all of them no socket or fd stays behind and the
-- node's memory stays bounded. The limits are the defaults of docs/LUA_SERVICES.md.
--! console_abuse_key = "alive"
local skynet = require "skynet"
local socket = require "skynet.socket"
local T = require "testlib"

local LINE = 8192 -- a command line, an HTTP request line, one header line
local HEADERS = 100 -- header lines of one request
local BODY = 8192 -- an HTTP POST body
local CONNECTIONS = 64 -- connections at the same time

local MiB = 1024 * 1024
-- Under a sanitizer RSS says nothing about the node (shadow memory, quarantined blocks) and
-- everything is slower: the floods are smaller and only the console's own memory is checked.
local sanitizer = skynet.getenv "test_sanitizer" or ""
local FLOOD = sanitizer == "" and 200000000 or 20000000

local function rss_bounded(peak, before)
  if sanitizer ~= "" then return end
  T.ok(peak - before < 64 * MiB, string.format("RSS grew by %d bytes", peak - before))
end
local port, console

local free_port = T.free_port

-- A connection past the welcome line.
local function connect()
  local id = assert(socket.open("127.0.0.1", port))
  T.eq(socket.readline(id), "Welcome to skynet console")
  return id
end

-- Everything the console sends until it closes the connection.
local function until_closed(id)
  local text = socket.readall(id)
  socket.close(id)
  return text or ""
end

local function rss()
  local f = assert(io.open "/proc/self/status")
  local kb = f:read("a"):match "VmRSS:%s*(%d+) kB"
  f:close()
  return tonumber(kb) * 1024
end

local function open_fds()
  local f = assert(io.open "/proc/self/stat")
  local pid = f:read("a"):match "^(%d+)"
  f:close()
  local ls = assert(io.popen("ls /proc/" .. pid .. "/fd"))
  local n = 0
  for _ in ls:lines() do n = n + 1 end
  ls:close()
  return n
end

local function sockets()
  return #socket.netstat()
end

-- Waits until the node has no socket but listeners (both ends of every earlier connection
-- closed); returns their count.
local function settled(what)
  T.eventually(function()
    for _, info in ipairs(socket.netstat()) do
      if info.type ~= "LISTEN" then return false end
    end
    return true
  end, 500, what)
  return sockets()
end

local function write_queue(id)
  for _, info in ipairs(socket.netstat()) do
    if info.id == id then return info.wbuffer or 0 end
  end
  return 0
end

-- Sends `chunk` again and again, `total` bytes at most, until the console closes the
-- connection, with never more than 1 MiB waiting in this side's write queue. Returns the
-- highest RSS of the node seen meanwhile.
local function stream(id, chunk, total)
  local peak, sent, n = rss(), 0, 0
  while sent < total and not socket.disconnected(id) do
    if write_queue(id) > MiB then
      skynet.sleep(1)
    else
      socket.write(id, chunk)
      sent = sent + #chunk
      n = n + 1
      if n % 64 == 0 then peak = math.max(peak, rss()) end
      skynet.yield()
    end
  end
  return math.max(peak, rss())
end

-- The console answers a normal command on a new connection.
local function serving()
  local id = connect()
  socket.write(id, "getenv console_abuse_key\n")
  T.eq(socket.readline(id), "alive", "the console still serves")
  T.eq(socket.readline(id), "<CMD OK>")
  socket.close(id)
end

-- The reply of one HTTP request sent whole.
local function http(request)
  local id = connect()
  socket.write(id, request)
  return until_closed(id)
end

local function post(headers, body)
  return http("POST / HTTP/1.1\r\nHost: x\r\n" .. headers .. "\r\n" .. (body or ""))
end

local function status(reply, code, what)
  T.match(reply, "^HTTP/1%.1 " .. code .. " [^\r]+\r\n", what)
  T.match(reply, "\r\nConnection: close\r\n", what)
  local length = tonumber(reply:match "\r\nContent%-Length: (%d+)\r\n")
  local body = reply:match "\r\n\r\n(.*)$"
  T.eq(#body, length, "Content-Length of the reply")
  return body
end

-- The one-line error of a console connection: the reason and <CMD Error>.
local function line_error(reply, pattern, what)
  T.match(reply, "^" .. pattern .. "\n<CMD Error>\n$", what)
end

local LINE_TOO_LONG = "Line too long: more than " .. LINE .. " bytes"

-- Probes that need one connection each, for the leak count at the end.
local probes = {}

T.test("setup: a console on a free port", function()
  port = free_port()
  local from = T.mark()
  console = skynet.newservice("debug_console", "127.0.0.1", tostring(port))
  T.log(T.line(console, "Start debug console at 127.0.0.1:" .. port), from)
  serving()
end)

T.test("Content-Length: 99999999999999999999 is 413 and closes", function()
  function probes.huge_length()
    return status(post "Content-Length: 99999999999999999999\r\n", 413)
  end
  T.match(probes.huge_length(), "^Request body too large: more than " .. BODY .. " bytes\n$")
  serving()
end)

T.test("a negative, fractional, signed, empty or non-numeric Content-Length is 400", function()
  function probes.bad_length()
    return status(post "Content-Length: -5\r\n", 400)
  end
  T.match(probes.bad_length(), "^Bad Content%-Length: %-5\n$")
  for _, value in ipairs { "1.5", "+5", "12abc", "0x10", "", "1e3", "5 5" } do
    status(post("Content-Length: " .. value .. "\r\n"), 400, T.repr(value))
  end
  T.match(status(post "Content-Length: 3\r\nContent-Length: 4\r\n", 400),
    "^Conflicting Content%-Length\n$")
  serving()
end)

T.test("Content-Length: 200000000 with a streaming body: 413 before the body, memory bounded",
  function()
    local before = rss()
    local id = connect()
    socket.write(id, "POST / HTTP/1.1\r\nContent-Length: 200000000\r\n\r\n")
    local reply = T.spawn(until_closed, id)
    local peak = stream(id, string.rep("getenv ", 64 * 1024 // 7), FLOOD)
    status(reply:value(), 413)
    rss_bounded(peak, before)
    serving()
  end, 6000)

T.test("a body at the limit is run; one byte more is 413", function()
  local command = "getenv console_abuse_key"
  local body = command .. string.rep(" ", BODY - #command)
  local reply = post("Content-Length: " .. BODY .. "\r\n", body)
  T.eq(status(reply, 200), "alive\n<CMD OK>\n")
  status(post("Content-Length: " .. (BODY + 1) .. "\r\n", body .. " "), 413)
  serving()
end)

T.test("a header line too long is 431", function()
  function probes.long_header()
    return status(post("X-Big: " .. string.rep("h", 2 * LINE) .. "\r\n"), 431)
  end
  T.match(probes.long_header(), "^Header line too long: more than " .. LINE .. " bytes\n$")
  local filler = "X: " .. string.rep("h", LINE - 3)
  T.eq(status(post("Content-Length: 6\r\n" .. filler .. "\r\n", "list x"), 200):match "[^\n]*\n$",
    "<CMD OK>\n", "a header line of exactly the limit")
  serving()
end)

T.test("too many header lines is 431, an endless stream of them too", function()
  function probes.many_headers()
    return status(post(string.rep("X-A: b\r\n", HEADERS + 1)), 431)
  end
  T.match(probes.many_headers(), "^Too many header lines: more than " .. HEADERS .. "\n$")
  status(post(string.rep("X-A: b\r\n", HEADERS - 1)), 200) -- Host is the 100th
  local id = connect()
  socket.write(id, "GET /list HTTP/1.1\r\n")
  local reply = T.spawn(until_closed, id)
  stream(id, string.rep("X-A: b\r\n", 1024), FLOOD)
  status(reply:value(), 431)
  serving()
end, 6000)

T.test("a header line with no colon is 400; Transfer-Encoding is 501", function()
  T.match(status(post "no colon here\r\n", 400), "^Bad header line\n$")
  T.match(status(post "Transfer-Encoding: chunked\r\n", 501),
    "^Transfer%-Encoding is not supported\n$")
  serving()
end)

T.test("a request line too long is 414", function()
  function probes.long_request()
    return status(http("GET /" .. string.rep("a", 2 * LINE) .. " HTTP/1.1\r\n\r\n"), 414)
  end
  T.match(probes.long_request(), "^Request line too long: more than " .. LINE .. " bytes\n$")
  serving()
end)

T.test("list followed by 2 million words: a one-line error, closed", function()
  function probes.many_words()
    local id = connect()
    socket.write(id, "list" .. string.rep(" w", 2000000) .. "\n")
    return until_closed(id)
  end
  line_error(probes.many_words(), LINE_TOO_LONG)
  serving()
end, 3000)

T.test("a command line with no newline that grows: a one-line error, memory bounded", function()
  local before = rss()
  local id = connect()
  local reply = T.spawn(until_closed, id)
  local peak = stream(id, string.rep("x", 64 * 1024), FLOOD)
  line_error(reply:value(), LINE_TOO_LONG)
  rss_bounded(peak, before)
  serving()
end, 6000)

T.test("a command line at the limit runs; one byte more is the error", function()
  local command = "getenv console_abuse_key"
  local id = connect()
  socket.write(id, command .. string.rep(" ", LINE - #command) .. "\r\n")
  T.eq(socket.readline(id), "alive")
  T.eq(socket.readline(id), "<CMD OK>")
  socket.write(id, command .. string.rep(" ", LINE + 1 - #command) .. "\n")
  line_error(until_closed(id), LINE_TOO_LONG)
  serving()
end)

T.test("many words within the limit are answered, not an escaped error", function()
  local id = connect()
  socket.write(id, "list" .. string.rep(" w", LINE // 2 - 2) .. "\n")
  local last
  repeat
    last = assert(socket.readline(id), "closed")
  until last:find "^<CMD"
  T.eq(last, "<CMD OK>")
  socket.close(id)
  serving()
end)

T.test("more connections than the limit: the extra one gets a one-line error", function()
  local count = settled "no connection left from before"
  local held = {}
  for i = 1, CONNECTIONS do held[i] = connect() end
  local id = assert(socket.open("127.0.0.1", port))
  line_error(until_closed(id), "Too many connections: more than " .. CONNECTIONS)
  for _, each in ipairs(held) do socket.close(each) end
  T.eq(settled "the console closed them too", count)
  serving()
end)

-- Arms a one-shot fault inside the console: its next socket.write raises.
local function fault_on_next_write()
  local ok, out = skynet.call(console, "debug", "RUN", [[
    local socket = require "skynet.socket"
    local write = socket.write
    socket.write = function()
      socket.write = write
      error("injected fault", 0)
    end
  ]])
  T.ok(ok, out)
end

T.test("an error inside a connection is answered, logged with its traceback, closed", function()
  local from = T.mark()
  local id = connect()
  fault_on_next_write()
  socket.write(id, "list\n")
  line_error(until_closed(id), "injected fault")
  T.log("^%[" .. T.hex(console) .. "%] injected fault\nstack traceback:\n", from)
  T.log("^%[" .. T.hex(console) .. "%] 127%.0%.0%.1:%d+ refused: injected fault$", from)
  id = connect()
  fault_on_next_write()
  socket.write(id, "GET /list HTTP/1.1\r\n\r\n")
  T.eq(status(until_closed(id), 500), "injected fault\n")
  serving()
end)

-- The console's Lua memory in KiB after a full collection (GC is one-way; MEM comes after it).
local function console_kb()
  skynet.send(console, "debug", "GC")
  return skynet.call(console, "debug", "MEM")
end

T.test("50 abusive connections leave no socket, no fd and no memory behind", function()
  local kb = console_kb()
  local socket_count = settled "no connection left from before"
  local fd_count = open_fds()
  local names = {}
  for name in pairs(probes) do names[#names + 1] = name end
  table.sort(names)
  T.ok(#names >= 5, "probes")
  for i = 1, 50 do
    probes[names[i % #names + 1]]()
  end
  T.eq(settled "the console closed every connection", socket_count)
  T.eventually(function() return open_fds() == fd_count end, 500, "fd count back")
  local grown = console_kb() - kb
  T.ok(grown < 256, string.format("the console's Lua memory grew by %.1f KiB", grown))
  serving()
end, 6000)

-- Last: the keys it sets stay in the node's environment.
T.test("config keys replace the defaults; a bad value fails the start", function()
  skynet.setenv("console_line_limit", "20")
  skynet.setenv("console_header_limit", "2")
  skynet.setenv("console_body_limit", "4")
  local from = T.mark()
  local default_port = port
  port = free_port()
  local small = skynet.newservice("debug_console", "127.0.0.1", tostring(port))
  local id = connect()
  socket.write(id, "getenv console_abuse_key\n")
  line_error(until_closed(id), "Line too long: more than 20 bytes")
  T.match(status(post("Content-Length: 5\r\n", "list "), 413), "more than 4 bytes\n$")
  T.match(status(post "A: 1\r\nB: 2\r\n", 431), "more than 2\n$") -- with Host, 3
  T.eq(status(post("Content-Length: 4\r\n", "list"), 200):match "[^\n]*\n$", "<CMD OK>\n")
  skynet.kill(small)
  port = default_port
  serving()
  skynet.setenv("console_connection_limit", "many")
  T.raises("call failed$", skynet.newservice, "debug_console", "127.0.0.1", tostring(free_port()))
  T.log("console_connection_limit must be a positive integer, got many", from)
end)

T.start()
