-- nodes: more Starling processes for the multi-node cases (cluster).
--
--   local nodes = require "nodes"
--   local peer = nodes.start("b", "cluster_peer", { 'cluster_peer_mode = "x"' })
--   peer.port                   -- what the peer wrote to its `ready` file (see below)
--   peer:stop()  peer:kill()    -- SIGTERM / SIGKILL, then wait until the process is gone
--   peer:log()                  -- the peer's output so far
--
-- A peer runs with the case's own config (test_tmp/config) plus `start = <service>`,
-- `test_node = <name>`, `test_node_dir = <its directory>` and the extra lines; its output
-- goes to <test_tmp>/<name>/log. It says it is ready by writing a line to
-- <test_node_dir>/ready (nodes.ready(value) does that); start() waits for it and puts the
-- line in `port`. Every peer is killed when the case ends (testlib's T.start calls
-- nodes.kill_all) so none outlives the test.

local skynet = require "skynet"

local nodes = {}
local running = {}

local function shell(cmd)
  local ok = os.execute(cmd)
  return ok
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read "a"
  f:close()
  return s
end

-- A zombie counts as gone: nobody may be there to reap it.
local function alive(pid)
  local stat = read_file(string.format("/proc/%d/stat", pid))
  return stat ~= nil and stat:match "^%d+ %b() (%a)" ~= "Z"
end

local peer = {}
peer.__index = peer

local function wait_gone(p)
  for _ = 1, 3000 do
    if not alive(p.pid) then
      running[p] = nil
      return
    end
    skynet.sleep(1)
  end
  error("nodes: peer " .. p.name .. " did not exit")
end

function peer:stop()
  shell(string.format("kill -TERM %d 2>/dev/null", self.pid))
  wait_gone(self)
end

function peer:kill()
  shell(string.format("kill -KILL %d 2>/dev/null", self.pid))
  wait_gone(self)
end

function peer:log()
  return read_file(self.dir .. "/log") or ""
end

function peer:alive()
  return alive(self.pid)
end

function nodes.start(name, service, extra, ticks)
  local tmp = assert(skynet.getenv "test_tmp")
  local dir = tmp .. "/" .. name
  assert(shell(string.format("rm -rf '%s' && mkdir -p '%s'", dir, dir)))
  local config = assert(read_file(tmp .. "/config"))
  local lines = {
    config,
    string.format("start = %q", service),
    string.format("test_node = %q", name),
    string.format("test_node_dir = [==[%s]==]", dir),
  }
  for _, line in ipairs(extra or {}) do
    lines[#lines + 1] = line
  end
  local f = assert(io.open(dir .. "/config", "wb"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  local bin = assert(skynet.getenv "test_starling")
  assert(shell(string.format("cd '%s' && ('%s' config >log 2>&1 & echo $! >pid)", dir, bin)))
  local p = setmetatable({ name = name, dir = dir, pid = assert(tonumber(read_file(dir .. "/pid"))) }, peer)
  running[p] = true
  for _ = 1, ticks or 3000 do
    local ready = read_file(dir .. "/ready")
    if ready and ready:find "\n" then
      p.port = ready:match "^(.-)\n"
      return p
    end
    if not alive(p.pid) then
      running[p] = nil
      error("nodes: peer " .. name .. " exited before it was ready:\n" .. p:log())
    end
    skynet.sleep(1)
  end
  p:kill()
  error("nodes: peer " .. name .. " was not ready:\n" .. p:log())
end

-- In a peer: tell the starter we are ready (written whole, then renamed).
function nodes.ready(value)
  local dir = assert(skynet.getenv "test_node_dir")
  local f = assert(io.open(dir .. "/ready.tmp", "wb"))
  f:write(tostring(value), "\n")
  f:close()
  assert(os.rename(dir .. "/ready.tmp", dir .. "/ready"))
end

function nodes.kill_all()
  for p in pairs(running) do
    shell(string.format("kill -KILL %d 2>/dev/null", p.pid))
    running[p] = nil
  end
end

return nodes
