-- http.url, http.sockethelper, http.httpd and http.httpc over loopback: an httpd server in
-- this service, httpc and raw sockets as clients, and the bad-input cases of the issue.
local skynet = require "skynet"
local socket = require "skynet.socket"
local httpd = require "http.httpd"
local httpc = require "http.httpc"
local urllib = require "http.url"
local sockethelper = require "http.sockethelper"
local T = require "testlib"

local port
local parsed = {} -- results of read_request, in arrival order
local open_handlers = 0

-- Serves one request per connection: echoes method, url and body, or answers the error code.
local function serve(id)
  open_handlers = open_handlers + 1
  socket.start(id)
  -- the server's own guard against clients that never finish their request
  local done = false
  skynet.timeout(500, function() if not done then socket.close(id) end end)
  local code, url, method, header, body = httpd.read_request(sockethelper.readfunc(id), 64)
  done = true
  -- on failure `url` is read_request's error
  parsed[#parsed + 1] = { code = code, url = url, method = method, header = header,
    body = body }
  if code == 200 then
    if url == "/chunked" then
      local pieces = { "hello", "", " world" }
      httpd.write_response(sockethelper.writefunc(id), 200,
        function() return table.remove(pieces, 1) end)
    elseif url == "/204" then
      httpd.write_response(sockethelper.writefunc(id), 204)
    else
      httpd.write_response(sockethelper.writefunc(id), 200,
        method .. " " .. url .. " " .. body, { ["x-seen-host"] = header.host })
    end
  elseif code then
    httpd.write_response(sockethelper.writefunc(id), code)
  end
  socket.close(id)
  open_handlers = open_handlers - 1
end

local function last() return parsed[#parsed] end

-- Sends raw bytes, returns everything the server answers before closing.
local function raw(...)
  local id = assert(socket.open("127.0.0.1", port))
  for _, piece in ipairs({ ... }) do socket.write(id, piece) end
  local reply = socket.readall(id)
  socket.close(id)
  return reply
end

T.test("setup: an httpd listener", function()
  local listener
  listener, _, port = socket.listen("127.0.0.1", 0)
  socket.start(listener, function(id) skynet.fork(serve, id) end)
end)

T.test("url.parse and url.parse_query", function()
  T.eq({ urllib.parse("/p%2Fq+r?y=%2B+z") }, { "/p/q r", "y=%2B+z" })
  T.eq({ urllib.parse("/noquery") }, { "/noquery", "" })
  T.eq({ urllib.parse("?onlyq=1") }, { "", "onlyq=1" })
  T.eq({ urllib.parse("http://h/p?q") }, { "http://h/p", "q" })
  T.raises("bad argument #1 to 'char' %(number expected, got nil%)", urllib.parse, "/%zz")
  T.eq(urllib.parse_query("a=1&a=2&a=3"), { a = { "1", "2", "3" } })
  T.eq(urllib.parse_query("k=a+b%20c"), { k = "a b c" })
  T.eq(urllib.parse_query("noeq&x=1"), { ["noeq&x"] = "1" })
  T.eq(urllib.parse_query("x=&y=2"), { x = "", y = "2" })
  T.eq(urllib.parse_query("=v"), { [""] = "v" })
  T.eq(urllib.parse_query("%41%3D=%26"), { ["A="] = "&" })
end)

T.test("sockethelper.socket_error: tostring gives the text once", function()
  local e = sockethelper.socket_error("boom")
  T.ok(e == sockethelper.socket_error, "the same table")
  T.eq(tostring(e), "[Socket Error] : boom")
  T.eq(tostring(e), "[Socket Error]")
end)

T.test("write_response bytes", function()
  local out = {}
  local function write(s) out[#out + 1] = s end
  local pieces = { "hello", "", "world" }
  T.eq(httpd.write_response(write, 200, function() return table.remove(pieces, 1) end,
    { ["x-a"] = "1" }), true)
  T.eq(table.concat(out), "HTTP/1.1 200 OK\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n"
    .. "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n")
  out = {}
  httpd.write_response(write, 204)
  T.eq(table.concat(out), "HTTP/1.1 204 No Content\r\n\r\n")
  out = {}
  httpd.write_response(write, 299, "ab")
  T.eq(table.concat(out), "HTTP/1.1 299 \r\ncontent-length: 2\r\n\r\nab")
  local ok, err = httpd.write_response(write, 200, 42)
  T.eq(ok, false)
  T.match(err, "assertion failed!")
  ok, err = httpd.write_response(function() error(sockethelper.socket_error("x")) end, 200)
  T.eq(ok, false)
  T.ok(err == sockethelper.socket_error, "socket_error passed through")
end)

T.test("read_request: header fields, folding, repeated names, path decoding", function()
  local reply = raw("GET /a%20b+c?x=1&y=%41+B&x=2 HTTP/1.1\r\nHost: h\r\nX-Multi: 1\r\n"
    .. "x-multi: 2\r\nFolded: a\r\n\tcontinued\r\nC:   d  \r\n\r\n")
  T.match(reply, "^HTTP/1.1 200 OK\r\n")
  local r = last()
  T.eq(r.url, "/a%20b+c?x=1&y=%41+B&x=2")
  T.eq(r.header.host, "h")
  T.eq(r.header["x-multi"], { "1", "2" })
  T.eq(r.header.folded, "acontinued")
  T.eq(r.header.c, "d  ")
  T.eq(urllib.parse(r.url), "/a b c")
  T.eq(urllib.parse_query(select(2, urllib.parse(r.url))), { x = { "1", "2" }, y = "A B" })
end)

T.test("read_request: bodies by length and chunked, limits and errors", function()
  T.match(raw("POST /p HTTP/1.0\r\nContent-Length: 5\r\n\r\nhelloEXTRA"), "POST /p hello$")
  T.eq(raw("POST /p HTTP/1.1\r\nContent-Length: 65\r\n\r\n"),
    "HTTP/1.1 413 Request Entity Too Large\r\n\r\n")
  local reply = raw("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    "3\r\nabc\r\n2\r\nde\r\n0\r\nTrailer-A: t\r\n\r\n")
  T.match(reply, "POST /c abcde$")
  T.eq(last().header["trailer-a"], "t")
  T.eq(raw("GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
    "HTTP/1.1 501 Not Implemented\r\n\r\n")
  T.eq(raw("GET / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"),
    "HTTP/1.1 501 Not Implemented\r\n\r\n")
  T.eq(raw("GET / HTTP/2.0\r\n\r\n"), "HTTP/1.1 505 HTTP Version not supported\r\n\r\n")
  T.eq(raw("GET / HTTP/1.1\r\nno colon\r\n\r\n"), "HTTP/1.1 400 Bad Request\r\n\r\n")
end)

T.test("bad input: oversized request line and header, bad chunks, garbage", function()
  -- header growing past 8 KiB without its blank line
  T.eq(raw("GET /" .. string.rep("a", 5000), string.rep("b", 5000)),
    "HTTP/1.1 413 Request Entity Too Large\r\n\r\n")
  T.eq(raw("GET / HTTP/1.1\r\n", "X-Big: " .. string.rep("x", 9000)),
    "HTTP/1.1 413 Request Entity Too Large\r\n\r\n")
  -- a bad chunk size, a chunk not followed by CRLF, a chunk-size line without end
  T.eq(raw("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    "HTTP/1.1 413 Request Entity Too Large\r\n\r\n")
  T.eq(raw("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX"),
    "HTTP/1.1 413 Request Entity Too Large\r\n\r\n")
  T.eq(raw("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", string.rep("1", 200)),
    "HTTP/1.1 413 Request Entity Too Large\r\n\r\n")
  T.eq(raw("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n"
    .. string.rep("y", 64) .. "\r\n1\r\nz\r\n0\r\n\r\n"),
    "HTTP/1.1 413 Request Entity Too Large\r\n\r\n")
  -- not a request line: read_request answers nil and an error, the server just closes
  T.eq(raw("BLAH\r\n\r\n"), "")
  T.eq(last().code, nil)
  T.match(last().url, "assertion failed!")
  T.eq(raw("\r\nGET / HTTP/1.1\r\n\r\n"), "")
end)

T.test("bad input: a client that never finishes its header is cut off, others served",
  function()
  local slow = assert(socket.open("127.0.0.1", port))
  socket.write(slow, "GET /slow HTTP/1.1\r\nHost: x\r\n")
  -- meanwhile other connections are served
  T.match(raw("GET /fast HTTP/1.1\r\n\r\n"), "GET /fast $")
  local rest = socket.readall(slow)
  T.eq(rest, "")
  socket.close(slow)
  T.eventually(function() return parsed[#parsed].code == nil end, 1500, "slow request ends")
  T.ok(last().url == sockethelper.socket_error, "read_request got socket_error")
end)

T.test("httpc: get, custom header, put, post, head, 204, recvheader", function()
  local host = "127.0.0.1:" .. port
  local recv = {}
  local code, body = httpc.get(host, "/path?q=1", recv)
  T.eq(code, 200)
  T.eq(body, "GET /path?q=1 ")
  T.eq(recv["x-seen-host"], host)
  T.eq(last().header.host, host)
  code, body = httpc.request("PUT", "http://" .. host, "/put", nil,
    { ["content-type"] = "text/plain" }, "BODY")
  T.eq({ code, body }, { 200, "PUT /put BODY" })
  code, body = httpc.post(host, "/form", { a = "1 2" })
  T.eq({ code, body }, { 200, "POST /form a=1%202" })
  T.eq(last().header["content-type"], "application/x-www-form-urlencoded")
  T.eq(httpc.head(host, "/h"), 200)
  T.eq({ httpc.get(host, "/204") }, { 204, "" })
  T.eq({ httpc.get(host, "/chunked") }, { 200, "hello world" })
end)

T.test("httpc: request_stream of a chunked body", function()
  local s = httpc.request_stream("GET", "127.0.0.1:" .. port, "/chunked")
  T.eq(s.status, 200)
  local pieces = {}
  for piece in s do pieces[#pieces + 1] = piece end
  T.eq(pieces, { "hello", " world", "" })
  T.eq(s.connected, nil)
  s:close()
end)

T.test("httpc: a HEAD response has no body whatever its Content-Length says", function()
  -- the server announces 5 bytes and keeps the connection open without sending them
  local listener, _, head_port = socket.listen("127.0.0.1", 0)
  local held = {}
  socket.start(listener, function(id)
    held[#held + 1] = id
    socket.start(id)
    socket.write(id, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
  end)
  local host = "127.0.0.1:" .. head_port
  -- the timeout only turns a regression into a failure instead of a hang
  httpc.timeout = 1000
  local recv = {}
  local ok, code, body = pcall(httpc.request, "HEAD", host, "/", recv)
  T.eq({ ok, code, body }, { true, 200, "" })
  T.eq(recv["content-length"], "5")
  local s = httpc.request_stream("HEAD", host, "/")
  httpc.timeout = nil
  T.eq(s.status, 200)
  local piece = s()
  T.eq(piece, "")
  T.eq(s.connected, nil)
  s:close()
  for _, id in ipairs(held) do socket.close(id) end
  socket.close(listener)
end)

T.test("httpc: host forms and errors", function()
  T.raises("Invalid protocol: ftp", httpc.get, "ftp://127.0.0.1", "/")
  T.raises("Invalid host: bare IPv6 address '::1', use '%[::1%]' instead", httpc.get, "::1",
    "/")
  local free, _, closed_port = socket.listen("127.0.0.1", 0)
  socket.close(free)
  local ok, err = pcall(httpc.get, "127.0.0.1:" .. closed_port, "/")
  T.eq(ok, false)
  T.ok(err == sockethelper.socket_error, "socket_error")
end)

T.test("httpc.timeout: a server that never answers fails after the timeout", function()
  local silent, _, silent_port = socket.listen("127.0.0.1", 0)
  local held = {}
  socket.start(silent, function(id) held[#held + 1] = id; socket.start(id) end)
  httpc.timeout = 50
  local ok, err = pcall(httpc.get, "127.0.0.1:" .. silent_port, "/")
  httpc.timeout = nil
  T.eq(ok, false)
  T.ok(err == sockethelper.socket_error, "socket_error after the timeout")
  for _, id in ipairs(held) do socket.close(id) end
  socket.close(silent)
end)

T.test("the server is still healthy", function()
  T.eq({ httpc.get("127.0.0.1:" .. port, "/end") }, { 200, "GET /end " })
  T.eventually(function() return open_handlers == 0 end, 500, "handlers finished")
end)

T.start()
