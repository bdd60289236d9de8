-- A line server for the socketchannel cases. skynet.call(h, "lua", cmd, ...):
--   "listen", opts -> port      opts: port (default 0 = any), password (auth), sink (accepted
--                               connections are not read until "drain"), greeting (a line
--                               sent to each new connection)
--   "stats", port -> { accepted = n, open = n, lines = { every line received, in order } }
--   "kick", port                closes every open connection of that listener (server side)
--   "stop", port                closes the listener and its connections (the port refuses)
--   "drain", port               starts reading (and dropping) what the sink connections got
--
-- Each request is one line "<command> <args>", answered in order on its connection:
--   echo <x>              -> "<x>"
--   fail <x>              -> "-<x>"                 (the client's response fn: ok = false)
--   multi <n> <x>         -> "*<x>1" ... "*<x>n-1", "<x>n"   ("*": more parts follow)
--   multifail <n> <x>     -> "*<x>1" ... "*<x>n", "-<x>"
--   sleep <ticks> <x>     -> "<x>" after sleeping
--   silent                -> nothing
--   close                 -> the server closes the connection
--   auth <password>       -> "+OK" or "-denied"
-- Session requests "s <session> <delay> <flag> <payload>" are answered (in a fork, after
-- <delay> ticks) by "<session> <flag> <payload>"; "parts <session> <n> <payload>" by n lines
-- "<session> * <payload>1" ... with the last one flagged "+".
local skynet = require "skynet"
local socket = require "skynet.socket"

local listeners = {} -- port -> { id, password, sink, accepted, conns = { id = true }, lines }

local function send(id, line)
  socket.write(id, line .. "\n")
end

local function answer(l, id, line)
  local cmd, rest = line:match("^(%S+) ?(.*)$")
  if cmd == "echo" then
    send(id, rest)
  elseif cmd == "fail" then
    send(id, "-" .. rest)
  elseif cmd == "multi" or cmd == "multifail" then
    local n, x = rest:match("^(%d+) (.*)$")
    n = tonumber(n)
    local out = {}
    for i = 1, n do
      local last = i == n and cmd == "multi"
      out[#out + 1] = (last and "" or "*") .. x .. i .. "\n"
    end
    if cmd == "multifail" then out[#out + 1] = "-" .. x .. "\n" end
    socket.write(id, table.concat(out))
  elseif cmd == "sleep" then
    local ticks, x = rest:match("^(%d+) (.*)$")
    skynet.sleep(tonumber(ticks))
    send(id, x)
  elseif cmd == "silent" then
    return
  elseif cmd == "close" then
    return "close"
  elseif cmd == "auth" then
    send(id, rest == l.password and "+OK" or "-denied")
  elseif cmd == "s" then
    local session, delay, flag, payload = rest:match("^(%S+) (%d+) (%S) ?(.*)$")
    skynet.fork(function()
      skynet.sleep(tonumber(delay))
      if l.conns[id] then send(id, session .. " " .. flag .. " " .. payload) end
    end)
  elseif cmd == "parts" then
    local session, n, payload = rest:match("^(%S+) (%d+) (.*)$")
    n = tonumber(n)
    for i = 1, n do
      send(id, session .. " " .. (i == n and "+" or "*") .. " " .. payload .. i)
    end
  else
    send(id, "-unknown " .. line)
  end
end

local function serve(l, id)
  socket.start(id)
  if l.greeting then send(id, l.greeting) end
  while l.conns[id] do
    local line = socket.readline(id)
    if not line then break end
    l.lines[#l.lines + 1] = line
    if answer(l, id, line) == "close" then break end
  end
  if l.conns[id] then
    l.conns[id] = nil
    socket.close(id)
  end
end

local function drain(l, id)
  socket.start(id)
  while true do
    if not socket.read(id) then break end
  end
  l.conns[id] = nil
  socket.close(id)
end

local cmd = {}

function cmd.listen(opts)
  opts = opts or {}
  local id, _, port = socket.listen("127.0.0.1", opts.port or 0)
  local l = {
    id = id, password = opts.password, sink = opts.sink, greeting = opts.greeting,
    accepted = 0, conns = {}, lines = {},
    sinks = {},
  }
  listeners[port] = l
  socket.start(id, function(conn)
    l.accepted = l.accepted + 1
    l.conns[conn] = true
    if l.sink then
      l.sinks[#l.sinks + 1] = conn
    else
      skynet.fork(serve, l, conn)
    end
  end)
  return port
end

function cmd.stats(port)
  local l = listeners[port]
  local open = 0
  for _ in pairs(l.conns) do open = open + 1 end
  return { accepted = l.accepted, open = open, lines = l.lines }
end

local function kick(l)
  for conn in pairs(l.conns) do
    l.conns[conn] = nil
    socket.close(conn)
  end
end

function cmd.kick(port)
  kick(listeners[port])
end

function cmd.stop(port)
  local l = listeners[port]
  listeners[port] = nil
  socket.close(l.id)
  kick(l)
end

function cmd.drain(port)
  local l = listeners[port]
  for _, conn in ipairs(l.sinks) do skynet.fork(drain, l, conn) end
  l.sinks = {}
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, name, ...)
    skynet.ret(skynet.pack(cmd[name](...)))
  end)
end)
