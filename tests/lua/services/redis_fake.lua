-- A scripted fake Redis server for the redis cases: listens on 127.0.0.1 port 0, reads RESP
-- commands (arrays of bulk strings, "$-1" included), records each one's bytes and answers it
-- with the next step of its script:
--   "<bytes>"                   write them (any text: valid replies, garbage, a cut reply)
--   { close = true }            close the connection without answering
--   { reply = "<bytes>", close = true }   write, then close
--   { silent = true }           answer nothing
-- When the script is used up every command gets "+OK\r\n".
--
-- lua protocol:
--   "start", script -> port       (one fake per service)
--   "state"         -> { commands = { "<bytes>", ... }, connections = n, closed = n }
--                      closed counts connections the client closed (EOF seen here)
--   "stop"          -> closes the listener and every connection
local skynet = require "skynet"
local socket = require "skynet.socket"

local script, step = {}, 0
local commands = {}
local connections, closed = 0, 0
local listener
local open = {}

-- One command: "*<n>" then n times "$<len>" and len bytes + CRLF. Returns its bytes or nil
-- at EOF.
local function read_command(id)
  local head = socket.readline(id, "\r\n")
  if not head then return nil end
  local parts = { head, "\r\n" }
  local n = assert(math.tointeger(head:match("^%*(%-?%d+)$")), "fake: not a RESP array: " .. head)
  for _ = 1, n do
    local len_line = socket.readline(id, "\r\n")
    if not len_line then return nil end
    parts[#parts + 1] = len_line .. "\r\n"
    local len = assert(math.tointeger(len_line:match("^%$(%-?%d+)$")), "fake: bad bulk " .. len_line)
    if len >= 0 then
      local bytes = socket.read(id, len + 2)
      if not bytes then return nil end
      parts[#parts + 1] = bytes
    end
  end
  return table.concat(parts)
end

local function serve(id)
  socket.start(id)
  open[id] = true
  while open[id] do
    local cmd = read_command(id)
    if not cmd then
      closed = closed + 1
      break
    end
    commands[#commands + 1] = cmd
    step = step + 1
    local action = script[step] or "+OK\r\n"
    if type(action) == "string" then
      socket.write(id, action)
    elseif action.close then
      if action.reply then socket.write(id, action.reply) end
      break
    end
  end
  open[id] = nil
  socket.close(id)
end

skynet.start(function()
  skynet.dispatch("lua", function(_, _, cmd, arg)
    if cmd == "start" then
      script = arg or {}
      local port
      listener, _, port = socket.listen("127.0.0.1", 0)
      socket.start(listener, function(id)
        connections = connections + 1
        skynet.fork(serve, id)
      end)
      skynet.retpack(port)
    elseif cmd == "state" then
      skynet.retpack { commands = commands, connections = connections, closed = closed }
    elseif cmd == "stop" then
      if listener then socket.close(listener) end
      for id in pairs(open) do
        open[id] = nil
        socket.close(id)
      end
      skynet.retpack(true)
    end
  end)
end)
