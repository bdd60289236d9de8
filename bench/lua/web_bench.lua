-- HTTP and WebSocket load, on Starling and on skynet alike (the start service of a node whose
-- luaservice path includes bench/lua/; bench/web_bench.sh runs it). Config keys:
--   web_bench_mode   "http": serve keep-alive HTTP on a free port, print `WEB_BENCH port <p>`
--                    and run until killed (the load comes from wrk);
--                    "ws": a WebSocket echo server and 64 client connections in the node, for
--                    web_bench_seconds; prints `RESULT ws_echo <round trips/s>` and ends
--   web_bench_tls    "true": https / wss (certfile and keyfile as skynet's examples)
local skynet = require "skynet"
local socket = require "skynet.socket"

local mode = ...
local AGENTS = 4
local CLIENT_SERVICES, CONNECTIONS_PER_SERVICE = 4, 16

local function tls_enabled() return skynet.getenv("web_bench_tls") == "true" end

local server_ctx
local function interface(id)
  local sockethelper = require "http.sockethelper"
  if not tls_enabled() then
    return { read = sockethelper.readfunc(id), write = sockethelper.writefunc(id) }
  end
  local tls = require "http.tlshelper"
  if not server_ctx then
    server_ctx = tls.newctx()
    server_ctx:set_cert(skynet.getenv("certfile"), skynet.getenv("keyfile"))
  end
  local t = tls.newtls("server", server_ctx)
  return { init = tls.init_responsefunc(id, t), read = tls.readfunc(id, t),
    write = tls.writefunc(id, t), close = tls.closefunc(t) }
end

if mode == "http_agent" then
  local httpd = require "http.httpd"
  skynet.start(function()
    skynet.dispatch("lua", function(_, _, id)
      socket.start(id)
      local io = interface(id)
      if not io.init or pcall(io.init) then
        while true do
          local code = httpd.read_request(io.read, 8192)
          if not code then break end
          if not httpd.write_response(io.write, code, "hello world\n") then break end
        end
      end
      socket.close(id)
      if io.close then io.close() end
    end)
  end)
  return
end

if mode == "ws_agent" then
  local websocket = require "http.websocket"
  local handle = { message = function(id, data, op) websocket.write(id, data, op) end }
  skynet.start(function()
    skynet.dispatch("lua", function(_, _, id, addr)
      websocket.accept(id, handle, tls_enabled() and "wss" or "ws", addr)
    end)
  end)
  return
end

if mode == "ws_client" then
  local websocket = require "http.websocket"
  skynet.start(function()
    skynet.dispatch("lua", function(_, _, port, seconds)
      local url = string.format("%s://127.0.0.1:%d/", tls_enabled() and "wss" or "ws", port)
      local total, running = 0, CONNECTIONS_PER_SERVICE
      local deadline = skynet.now() + seconds * 100
      local me = coroutine.running()
      for _ = 1, CONNECTIONS_PER_SERVICE do
        skynet.fork(function()
          local ws = websocket.connect(url)
          while skynet.now() < deadline do
            websocket.write(ws, "a 32-byte message for the echo..")
            assert(websocket.read(ws))
            total = total + 1
          end
          websocket.close(ws)
          running = running - 1
          if running == 0 then skynet.wakeup(me) end
        end)
      end
      skynet.wait(me)
      skynet.ret(skynet.pack(total))
    end)
  end)
  return
end

local function listen_with(agent_mode, pass)
  local agents = {}
  for i = 1, AGENTS do agents[i] = skynet.newservice(SERVICE_NAME, agent_mode) end
  local n = 0
  local id, _, port = socket.listen("127.0.0.1", 0)
  socket.start(id, function(fd, addr)
    n = n % AGENTS + 1
    skynet.send(agents[n], "lua", fd, pass and addr)
  end)
  return port
end

skynet.start(function()
  local which = skynet.getenv("web_bench_mode") or "http"
  if which == "http" then
    print("WEB_BENCH port " .. listen_with("http_agent"))
    return
  end
  local port = listen_with("ws_agent", true)
  local seconds = tonumber(skynet.getenv("web_bench_seconds") or 10)
  local clients = {}
  for i = 1, CLIENT_SERVICES do clients[i] = skynet.newservice(SERVICE_NAME, "ws_client") end
  local total, done = 0, 0
  local me = coroutine.running()
  for _, c in ipairs(clients) do
    skynet.fork(function()
      total = total + skynet.call(c, "lua", port, seconds)
      done = done + 1
      if done == #clients then skynet.wakeup(me) end
    end)
  end
  skynet.wait(me)
  print(string.format("RESULT ws_echo %.0f", total / seconds))
  skynet.abort()
end)
