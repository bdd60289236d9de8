-- Helpers of the socketchannel cases: the line server (tests/lua/services/sc_server.lua) and
-- the client-side response functions of its protocol.
local skynet = require "skynet"
local socket = require "skynet.socket"
local sc = require "skynet.socketchannel"
local T = require "testlib"

local H = {}

-- A channel to 127.0.0.1:port; `extra` adds fields to the description.
function H.channel(port, extra)
  local desc = { host = "127.0.0.1", port = port }
  for k, v in pairs(extra or {}) do desc[k] = v end
  return sc.channel(desc)
end

-- `open()` makes a channel, makes one request on it and returns it with its socket id. The
-- channel is dropped, then it must be collected, its connection closed, nothing logged.
function H.collected_and_closed(port, open)
  local weak = setmetatable({}, { __mode = "v" })
  local fd
  local function use()
    local ch
    ch, fd = open()
    weak[1] = ch
  end
  local from = T.mark()
  use()
  T.eq(H.stats(port).open, 1)
  T.eventually(function()
    collectgarbage()
    return weak[1] == nil and H.stats(port).open == 0
  end, nil, "collected and closed")
  T.eventually(function() return socket.invalid(fd) end, nil, "the socket left the pool")
  T.eq(H.my_lines(from, "^socket"), {}, "nothing logged")
end

local server
local function srv()
  server = server or skynet.newservice("sc_server")
  return server
end

function H.listen(opts)
  return skynet.call(srv(), "lua", "listen", opts)
end

function H.stats(port)
  return skynet.call(srv(), "lua", "stats", port)
end

function H.kick(port)
  skynet.call(srv(), "lua", "kick", port)
end

-- Kicks and waits until the (idle, order-mode) channel has seen the close.
function H.kick_seen(port)
  local from = T.mark()
  H.kick(port)
  T.log(T.line(skynet.self(), "socket closed by peer :  127.0.0.1 " .. port), from)
end

function H.stop(port)
  skynet.call(srv(), "lua", "stop", port)
end

function H.drain(port)
  skynet.call(srv(), "lua", "drain", port)
end

-- A loopback port nothing listens on (it was free a moment ago).
function H.refused_port()
  local id, _, port = socket.listen("127.0.0.1", 0)
  socket.close(id)
  return port
end

-- Order mode: "-x" fails with x, "*x" is a part with more to come, anything else succeeds.
function H.line(sock)
  local line = sock:readline()
  local c = line:sub(1, 1)
  if c == "-" then return false, line:sub(2) end
  if c == "*" then return true, line:sub(2), true end
  return true, line
end

-- Session mode: "<session> <flag> <payload>"; flag "+" ok, "-" fails, "*" a part. A payload
-- "boom" makes the function raise; a session that is not a number comes back as nil.
function H.session(sock)
  local line = sock:readline()
  local session, flag, payload = line:match("^(%S+) (%S) ?(.*)$")
  if payload == "boom" then error("boom") end
  return tonumber(session), flag ~= "-", payload, flag == "*"
end

-- The error value of a finished T.spawn promise (raw, not tostring'd).
function H.raw_error(p, ticks)
  local r = p:wait(ticks)
  if r[1] then T.fail("expected an error, got success " .. T.repr(table.pack(table.unpack(r, 2, r.n)))) end
  return r[2]
end

-- Asserts that `e` is the socket error object itself.
function H.is_socket_error(e, what)
  if not rawequal(e, sc.error) then
    T.fail((what and what .. ": " or "") .. "expected sc.error, got " .. T.repr(e))
  end
  T.eq(tostring(e), "[Error: socket]", what)
end

-- This service's log lines from `from` on whose text (after "[:xxxxxxxx] ") matches pattern.
function H.my_lines(from, pattern)
  T.sync()
  local prefix = "^%[" .. T.hex(skynet.self()) .. "%] "
  local out = {}
  for _, line in ipairs(T.lines(from)) do
    local text = line:match(prefix .. "(.*)$")
    if text and text:find(pattern) then out[#out + 1] = text end
  end
  return out
end

-- Waits until the server has received `n` lines on `port`.
function H.wait_lines(port, n)
  T.eventually(function() return #H.stats(port).lines >= n end, nil, n .. " lines at the server")
end

return H
