-- The soak's start service (tests/soak/soak.sh runs it). It starts a watchdog with its gate, a
-- debug console, a slow service and the four load services (after growing the socket table, see
-- grow_socket_table), then:
--   1. a warm-up: every load for soak_warmup seconds, then stopped and drained; logs
--      `SOAK warm` and waits for the file <soak_dir>/go (the script measures its baseline);
--   2. the soak: every load at once for soak_seconds, stopped and drained again;
--   3. logs `SOAK figure <name> <value>` for each counter of the soak phase, then `SOAK
--      drained`, and stays up until the script stops it (SIGTERM).
-- Whatever goes wrong is logged on a line starting `SOAK FAIL`.
local skynet = require "skynet"
local socket = require "skynet.socket"

local dir = skynet.getenv "soak_dir"

local function free_port()
  local id, _, port = socket.listen("127.0.0.1", 0)
  socket.close(id)
  return port
end

-- Polls cond every 0.1 s for at most `seconds`; true once it holds.
local function wait_for(cond, seconds)
  for _ = 1, seconds * 10 do
    if cond() then
      return true
    end
    skynet.sleep(10)
  end
  return cond()
end

-- The socket table makes a slot (about 2.4 KB with glibc) the first time an id maps to it and
-- keeps it, up to 65536 slots (docs/NET.md, "Ids and slots"): a node that has seen 65536
-- sockets holds some 155 MB more than a new one, for good. Every slot is made here, before the
-- warm-up, so that the RSS baseline has them and the check is on everything else.
local function grow_socket_table()
  local listener, _, port = socket.listen("127.0.0.1", 0)
  socket.start(listener, function(id)
    socket.start(id)
    socket.close(id)
  end)
  local last = 0
  while last < 65536 do
    last = assert(socket.open("127.0.0.1", port))
    socket.close(last)
  end
  socket.close(listener)
end

local watchdog
local loads = {} -- { service, args... }

local function quiet()
  if skynet.call(watchdog, "lua", "count") ~= 0 then
    return false
  end
  for _, info in ipairs(socket.netstat()) do
    if info.type ~= "LISTEN" then
      return false
    end
  end
  return true
end

-- Runs every load for `seconds`, stops them and waits until no connection is left. Returns
-- the sum of their counters and what the watchdog saw meanwhile (gate_*).
local function phase(seconds)
  local _, before = skynet.call(watchdog, "lua", "count")
  for _, load in ipairs(loads) do
    skynet.call(load[1], "lua", "start", table.unpack(load, 2))
  end
  skynet.sleep(seconds * 100)
  local total = {}
  for _, load in ipairs(loads) do
    for name, n in pairs(skynet.call(load[1], "lua", "stop")) do
      total[name] = (total[name] or 0) + n
    end
  end
  if not wait_for(quiet, 60) then
    skynet.error "SOAK FAIL connections still open 60 s after the load stopped"
  end
  local _, after = skynet.call(watchdog, "lua", "count")
  for name, n in pairs(after) do
    total["gate_" .. name] = n - before[name]
  end
  return total
end

skynet.start(function()
  grow_socket_table()
  watchdog = skynet.newservice "soak_watchdog"
  local _, gate_port = skynet.call(watchdog, "lua", "start",
    { address = "127.0.0.1", port = 0, maxclient = 1024, nodelay = true })
  local console_port = free_port()
  skynet.newservice("debug_console", "127.0.0.1", tostring(console_port))
  local slow = skynet.newservice "soak_slow"
  -- soak_loads: the loads to run (names without soak_ and _load, separated by commas; all
  -- by default), to find which one a problem comes with
  local only = skynet.getenv "soak_loads" or ""
  for _, load in ipairs {
    { "gate", gate_port, 6 },
    { "spawn", 6 },
    { "console", console_port, 3 },
    { "flood", gate_port, slow },
  } do
    if only == "" or ("," .. only .. ","):find("," .. load[1] .. ",", 1, true) then
      load[1] = skynet.newservice("soak_" .. load[1] .. "_load")
      loads[#loads + 1] = load
    end
  end

  phase(tonumber(skynet.getenv "soak_warmup"))
  skynet.error "SOAK warm"
  if not wait_for(function()
    local go = io.open(dir .. "/go")
    return go and go:close()
  end, 120) then
    skynet.error "SOAK FAIL no go from the script"
    return
  end

  local seconds = tonumber(skynet.getenv "soak_seconds")
  local total = phase(seconds)
  total.seconds = seconds
  local names = {}
  for name in pairs(total) do
    names[#names + 1] = name
  end
  table.sort(names)
  for _, name in ipairs(names) do
    skynet.error(string.format("SOAK figure %s %d", name, total[name]))
  end
  skynet.error "SOAK drained"
end)
