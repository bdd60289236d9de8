-- The console service: each line typed on the node's standard input starts a service.
-- `snax NAME ARGS...` starts a snax service; any other non-empty line is a service name with
-- its arguments, handed to the launcher as it is. A line that fails to start is reported and
-- the console reads on; it stops when standard input ends.
local skynet = require "skynet"
local snax = require "skynet.snax"
local socket = require "skynet.socket"

local function words(line)
  local list = {}
  for w in line:gmatch "%S+" do
    list[#list + 1] = w
  end
  return list
end

local function launch(line)
  local args = words(line)
  if #args == 0 then
    return
  end
  local ok, err
  if args[1] == "snax" then
    ok, err = pcall(snax.newservice, table.unpack(args, 2))
  else
    ok, err = pcall(skynet.newservice, line)
  end
  if not ok then
    skynet.error("console: " .. line .. ": " .. tostring(err))
  end
end

local function loop()
  local stdin, err = socket.stdin()
  if not stdin then
    -- e.g. /dev/null, which cannot be watched
    skynet.error("console: standard input cannot be read: " .. tostring(err))
    return
  end
  while true do
    local line, rest = socket.readline(stdin, "\n")
    if not line then
      -- Input ended: what came after the last newline is a line too.
      if rest and rest ~= "" then
        launch(rest)
      end
      return
    end
    launch(line)
  end
end

skynet.start(function()
  skynet.fork(loop)
end)
