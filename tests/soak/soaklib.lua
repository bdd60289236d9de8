-- What the soak's load services share: counters, worker loops that run until the load is told
-- to stop, calls with a deadline that count how they end, and netpack framing over
-- skynet.socket. A load service is `soaklib.serve(start, commands)`: "start" runs start(...) (which
-- launches workers), "stop" ends the workers and answers the counters of the phase.
local skynet = require "skynet"
local socket = require "skynet.socket"
local deadline = require "skynet.deadline"

local soaklib = {}

local counts = {}
local running = false
local workers = 0 -- worker loops and tracked forks still going
local stopper -- the coroutine of "stop", waiting for workers to end

function soaklib.add(name, n)
  counts[name] = (counts[name] or 0) + (n or 1)
end

function soaklib.running()
  return running
end

local function done()
  workers = workers - 1
  if workers == 0 and stopper then
    skynet.wakeup(stopper)
  end
end

-- Runs f(...) in a fork that "stop" waits for. An error is counted and logged with its
-- traceback (a line the soak's allow-list does not take: the run fails).
function soaklib.fork(f, ...)
  workers = workers + 1
  skynet.fork(function(...)
    local ok, err = xpcall(f, debug.traceback, ...)
    if not ok then
      soaklib.add("errors")
      skynet.error("SOAK load error: " .. tostring(err))
    end
    done()
  end, ...)
end

-- n loops of body() until stop; body(i) gets the loop's number.
function soaklib.workers(n, body)
  for i = 1, n do
    soaklib.fork(function()
      while running do
        body(i)
      end
    end)
  end
end

-- A call with a deadline (ticks), counted as made, then answered or failed. Returns pcall's
-- results.
function soaklib.call(ticks, addr, ...)
  soaklib.add("calls_made")
  local r = table.pack(pcall(deadline.call, ticks, addr, "lua", ...))
  soaklib.add(r[1] and "calls_answered" or "calls_failed")
  return table.unpack(r, 1, r.n)
end

-- Waits until every fork in `forks` (a count shared by a group) is done: `group` is
-- { n = 0 }; soaklib.group_fork adds one, its end removes it.
function soaklib.group_fork(group, f, ...)
  group.n = group.n + 1
  soaklib.fork(function(...)
    local ok, err = pcall(f, ...)
    group.n = group.n - 1
    if group.n == 0 and group.waiter then
      skynet.wakeup(group.waiter)
    end
    assert(ok, err)
  end, ...)
end

function soaklib.group_wait(group)
  while group.n > 0 do
    group.waiter = coroutine.running()
    skynet.wait(group.waiter)
    group.waiter = nil
  end
end

-- A connection to the node's own port, counted under `counter` ("connections" by default), or
-- nil, counted as connect_failed.
function soaklib.connect(port, counter)
  local id = socket.open("127.0.0.1", port)
  if not id then
    soaklib.add("connect_failed")
    return nil
  end
  soaklib.add(counter or "connections")
  return id
end

-- One netpack frame (2-byte big-endian length) from socket id, or nil once it closed.
function soaklib.read_frame(id)
  local head = socket.read(id, 2)
  if not head then
    return nil
  end
  local size = string.unpack(">I2", head)
  if size == 0 then
    return "" -- socket.read(id, 0) would wait for more
  end
  return socket.read(id, size) or nil
end

function soaklib.frame(text)
  return string.pack(">s2", text)
end

-- Unsent bytes of socket id (netstat's wbuffer).
function soaklib.unsent(id)
  for _, info in ipairs(socket.netstat()) do
    if info.id == id then
      return info.wbuffer or 0
    end
  end
  return 0
end

-- The service's lua dispatch; `commands` are extra ones, sent and not answered. "stop" waits
-- at most 60 s for the workers; those still running then are answered as `stuck` (a call or a
-- read that never ended), which fails the soak.
function soaklib.serve(start, commands)
  skynet.start(function()
    skynet.dispatch("lua", function(_, _, cmd, ...)
      if cmd == "start" then
        counts = {}
        running = true
        start(...)
        skynet.retpack(true)
      elseif cmd == "stop" then
        running = false
        if workers > 0 then
          stopper = coroutine.running()
          skynet.sleep(6000, stopper)
          stopper = nil
        end
        counts.stuck = workers
        skynet.retpack(counts)
      elseif commands and commands[cmd] then
        commands[cmd](...)
      else
        error("soak load: unknown command " .. tostring(cmd))
      end
    end)
  end)
end

return soaklib
