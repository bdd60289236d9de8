-- ltls.c and http.tlshelper: the native API, https through httpd/httpc, wss through
-- websocket, and garbage before the handshake. The certificate is made here, in the case's
-- work directory, by the openssl command.
local skynet = require "skynet"
local socket = require "skynet.socket"
local ltls = require "ltls.c"
local tlshelper = require "http.tlshelper"
local httpd = require "http.httpd"
local httpc = require "http.httpc"
local websocket = require "http.websocket"
local T = require "testlib"

local CERT, KEY = "./server-cert.pem", "./server-key.pem"
local server_ctx
local https_port, wss_port
local server_errors = {} -- what the https server's handlers raised

-- The https server: one request per connection, as skynet's examples/simpleweb.lua serves.
local function serve_https(id)
  socket.start(id)
  local ok, err = pcall(function()
    local tls = tlshelper.newtls("server", server_ctx)
    tlshelper.init_responsefunc(id, tls)()
    local code, url, _, _, body = httpd.read_request(tlshelper.readfunc(id, tls), 8192)
    httpd.write_response(tlshelper.writefunc(id, tls), code or 400,
      code == 200 and ("secure " .. url .. " " .. body) or nil)
    tls:close()
  end)
  if not ok then server_errors[#server_errors + 1] = tostring(err) end
  socket.close(id)
end

T.test("setup: a throwaway certificate", function()
  T.eq(os.execute("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
    .. "-nodes -days 1 -subj /CN=127.0.0.1 -keyout " .. KEY .. " -out " .. CERT
    .. " >/dev/null 2>&1"), true, "openssl req")
  server_ctx = ltls.newctx()
  server_ctx:set_cert(CERT, KEY)
end)

T.test("ltls.c: errors", function()
  local ctx = ltls.newctx()
  T.raises("need certfile", ctx.set_cert, ctx)
  T.raises("need private key", ctx.set_cert, ctx, CERT)
  T.raises("SSL_CTX_use_certificate_chain_file error:0", ctx.set_cert, ctx, "missing.pem",
    KEY)
  T.raises("SSL_CTX_use_PrivateKey_file error:0", ctx.set_cert, ctx, CERT, "missing.pem")
  T.raises("invalid method:both e%.g%[server, client%]", ltls.newtls, "both", ctx)
  local tls = ltls.newtls("client", ctx, nil)
  tls:close()
  T.raises("context is closed", tls.finished, tls)
end)

T.test("ltls.c: a handshake between two sessions in memory, then data both ways", function()
  local client = ltls.newtls("client", ltls.newctx(), "localhost")
  local server = ltls.newtls("server", server_ctx)
  local to_server = client:handshake()
  T.ok(#to_server > 0, "a ClientHello")
  local to_client = ""
  for _ = 1, 10 do
    if not server:finished() then
      to_client = to_client .. (server:handshake(to_server) or "")
      to_server = ""
    end
    if not client:finished() then
      to_server = to_server .. (client:handshake(to_client) or "")
      to_client = ""
    end
  end
  -- what one side sent after the other finished (TLS 1.3 session tickets) comes first
  T.eq(client:read(to_client), "")
  T.eq(server:read(to_server), "")
  T.eq(client:finished(), true)
  T.eq(server:finished(), true)
  T.raises("handshake is finished", client.handshake, client)
  T.eq(server:read(client:write("ping")), "ping")
  T.eq(client:read(server:write("pong")), "pong")
  T.raises("SSL_read error", server.read, server, "not a TLS record at all")
end)

T.test("https: httpc against an httpd server over TLS", function()
  local listener
  listener, _, https_port = socket.listen("127.0.0.1", 0)
  socket.start(listener, function(id) skynet.fork(serve_https, id) end)
  T.eq({ httpc.get("https://127.0.0.1:" .. https_port, "/secure") }, { 200, "secure /secure " })
  T.eq({ httpc.request("POST", "https://127.0.0.1:" .. https_port, "/p", nil, {}, "data") },
    { 200, "secure /p data" })
end)

T.test("bad input: garbage before the handshake closes that connection only", function()
  local id = assert(socket.open("127.0.0.1", https_port))
  socket.write(id, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
  T.eq(socket.readall(id), "", "closed without an answer")
  socket.close(id)
  T.eventually(function() return #server_errors == 1 end, 500, "the handler failed")
  T.match(server_errors[1], "SSL_do_handshake error")
  -- a plain http client against the TLS port
  T.raises("Socket Error", httpc.get, "127.0.0.1:" .. https_port, "/")
  T.eq({ httpc.get("https://127.0.0.1:" .. https_port, "/after") }, { 200, "secure /after " })
end)

T.test("wss: websocket server and client over TLS", function()
  local listener
  listener, _, wss_port = socket.listen("127.0.0.1", 0)
  local handle = {
    message = function(id, data) websocket.write(id, "echo:" .. data) end,
  }
  local accepted = {}
  socket.start(listener, function(id, addr)
    skynet.fork(function() accepted[#accepted + 1] = { websocket.accept(id, handle, "wss", addr) } end)
  end)
  local ws = websocket.connect("wss://127.0.0.1:" .. wss_port .. "/chat")
  websocket.write(ws, "tls-msg")
  T.eq(websocket.read(ws), "echo:tls-msg")
  local big = string.rep("b", 100000)
  websocket.write(ws, big, "binary")
  T.eq(websocket.read(ws), "echo:" .. big)
  websocket.close(ws, 1000, "done")
  T.eventually(function() return #accepted == 1 end, 500, "accept returned")
  T.eq(accepted[1], { true })
  -- plain bytes to the wss port: that accept fails, the next connection works
  local raw = assert(socket.open("127.0.0.1", wss_port))
  socket.write(raw, "GET / HTTP/1.1\r\n\r\n")
  T.eq(socket.readall(raw), "")
  socket.close(raw)
  T.eventually(function() return #accepted == 2 end, 500, "accept returned")
  T.eq(accepted[2][1], false)
  T.match(accepted[2][2], "SSL_do_handshake error")
  ws = websocket.connect("wss://127.0.0.1:" .. wss_port)
  websocket.write(ws, "again")
  T.eq(websocket.read(ws), "echo:again")
  websocket.close(ws)
end)

T.start()
