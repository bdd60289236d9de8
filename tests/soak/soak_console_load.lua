-- debug_console clients: valid commands (list, mem, stat) whose answers are checked, mixed with
-- abuse: a garbage line, a line over the 8 KiB limit with no newline, HTTP with a bad
-- Content-Length, a connection dropped at once or in the middle of a line.
local skynet = require "skynet"
local socket = require "skynet.socket"
local soaklib = require "soaklib"

local port

-- The lines up to and including `<CMD OK>` or `<CMD Error>`; nil if the connection closed first.
local function answer(id)
  local lines = {}
  while true do
    local line = socket.readline(id)
    if not line then
      return nil
    end
    lines[#lines + 1] = line
    if line == "<CMD OK>" or line == "<CMD Error>" then
      return lines
    end
  end
end

local function check(ok, what, lines)
  soaklib.add(ok and "console_ok" or "console_wrong")
  if not ok then
    skynet.error("SOAK console: unexpected answer to " .. what .. ": "
      .. (type(lines) == "table" and table.concat(lines, " | ") or tostring(lines)))
  end
end

-- A command whose every line but the last matches one of the patterns.
local function valid(command, patterns)
  return function(id)
    socket.write(id, command .. "\n")
    local lines = answer(id)
    local ok = lines ~= nil and #lines > 1 and lines[#lines] == "<CMD OK>"
    for i = 1, ok and #lines - 1 or 0 do
      local matched = false
      for _, pattern in ipairs(patterns) do
        matched = matched or lines[i]:match(pattern) ~= nil
      end
      ok = ok and matched
    end
    check(ok, command, lines)
  end
end

-- Everything until the console closes the connection.
local function until_closed(id)
  return socket.readall(id) or ""
end

local REQUESTS = {
  valid("list", { "^:%x+\tsnlua %S" }),
  -- a service killed or busy while the launcher asks it is listed as ERROR or TIMEOUT
  valid("mem", { "^:%x+\t%d+%.%d%d Kb %(snlua %S.*%)$", "^:%x+\tERROR %(snlua %S.*%)$",
    "^:%x+\tTIMEOUT %(snlua %S.*%)$" }),
  valid("stat", { "^:%x+\tcpu:[%d.e+-]+\tmessage:%d+\tmqlen:%d+\ttask:%d+$", "^:%x+\tERROR$",
    "^:%x+\tTIMEOUT$" }),
  function(id) -- garbage
    socket.write(id, "\1\2\3 zzz \255\n")
    local lines = answer(id)
    check(lines ~= nil and lines[#lines] == "<CMD Error>", "a garbage line", lines)
  end,
  function(id) -- a line over the limit, never ended
    socket.write(id, string.rep("x", 9000))
    local text = until_closed(id)
    check(text:find("Line too long: more than 8192 bytes\n<CMD Error>\n", 1, true) ~= nil,
      "an over-long line", text)
  end,
  function(id) -- HTTP with a Content-Length that is no number
    socket.write(id, "POST / HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n")
    local text = until_closed(id)
    check(text:find("^HTTP/1.1 400 ") ~= nil, "a bad Content-Length", text)
  end,
  function(id) -- HTTP with a Content-Length far too large
    socket.write(id, "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n")
    local text = until_closed(id)
    check(text:find("^HTTP/1.1 413 ") ~= nil, "a huge Content-Length", text)
  end,
  function() -- dropped at once
    soaklib.add("console_dropped")
  end,
  function(id) -- dropped in the middle of a line
    socket.write(id, "lis")
    soaklib.add("console_dropped")
  end,
}

soaklib.serve(function(console_port, loops)
  port = console_port
  math.randomseed(skynet.self())
  soaklib.workers(loops, function()
    local id = soaklib.connect(port, "console_requests")
    if not id then return end
    if socket.readline(id) == "Welcome to skynet console" then
      REQUESTS[math.random(#REQUESTS)](id)
    else
      check(false, "a connection (no welcome line)")
    end
    socket.close(id)
  end)
end)
