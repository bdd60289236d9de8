-- testlogger: the log service of the Lua test runs (config: logservice = "snlua",
-- logger = "testlogger"; it is registered as `logger`, address ".logger").
--
-- Every PTYPE_TEXT message is a log line: it is printed to stdout as the native logger
-- does, `[:%08x] <text>` (source handle, 8 lowercase hex digits), flushed at once, and
-- kept, numbered from 1, in that printed form. Tests ask for lines over the lua protocol;
-- testlib.lua documents the commands ("wait", "mark", "lines", "count").

local skynet = require "skynet"

local lines = {}   -- number -> "[:%08x] text"
local waiters = {} -- pending "wait" requests: { pattern, from, respond }

local function matches(line, pattern)
  local ok, found = pcall(string.find, line, pattern)
  return ok and found ~= nil
end

local function store(source, text)
  local line = string.format("[:%08x] %s", source, text)
  io.write(line, "\n")
  io.stdout:flush()
  local n = #lines + 1
  lines[n] = line
  for w in pairs(waiters) do
    if n >= w.from and matches(line, w.pattern) then
      waiters[w] = nil
      w.respond(true, line, n)
    end
  end
end

-- Log lines can arrive before the start function runs: the text protocol must be ready
-- when the main chunk returns.
skynet.register_protocol {
  name = "text",
  id = skynet.PTYPE_TEXT,
  unpack = skynet.tostring,
  dispatch = function(_, source, text)
    store(source, text or "")
  end,
}

-- SIGHUP notice (nothing to reopen on stdout).
skynet.register_protocol {
  name = "system",
  id = skynet.PTYPE_SYSTEM,
  unpack = function() end,
  dispatch = function() end,
}

local CMD = {}

function CMD.wait(pattern, ticks, from)
  from = from or 1
  for n = from, #lines do
    if matches(lines[n], pattern) then
      return skynet.retpack(lines[n], n)
    end
  end
  if not ticks or ticks <= 0 then
    return skynet.retpack(nil)
  end
  local w = { pattern = pattern, from = from, respond = skynet.response() }
  waiters[w] = true
  skynet.timeout(ticks, function()
    if waiters[w] then
      waiters[w] = nil
      w.respond(true, nil)
    end
  end)
end

function CMD.mark()
  skynet.retpack(#lines + 1)
end

function CMD.lines(from, to)
  local out = {}
  for n = from or 1, math.min(to or #lines, #lines) do
    out[#out + 1] = lines[n]
  end
  skynet.retpack(out)
end

function CMD.count(pattern, from)
  local c = 0
  for n = from or 1, #lines do
    if matches(lines[n], pattern) then c = c + 1 end
  end
  skynet.retpack(c)
end

skynet.dispatch("lua", function(_, _, cmd, ...)
  local f = assert(CMD[cmd], cmd)
  f(...)
end)

skynet.start(function() end)
