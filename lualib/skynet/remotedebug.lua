-- The remote debugger inside a debugged service: the debug console's `debug address`
-- (docs/LUA_SERVICES.md), entered through the debug command REMOTEDEBUG(fd, channel id).
--
-- The console's connection reaches this service through a skynet.debugchannel: the console
-- forwards each line the operator types, and this service reads them before every message it
-- handles (and every 0.1 s while idle), writing its answers straight to the connection.
--
-- At the top prompt `:<address>>` a line is a Lua expression or statement run in the
-- service's globals, with `print` writing to the console and `watch(proto [, cond])`, which
-- stops the next message of that protocol (for which `cond(...)`, given the dispatch
-- function's arguments, is true) at the first line of its handler. The prompt is then
-- `<file>(<line)>` and a line is run in the stopped frame (its locals, then its upvalues,
-- then the globals), except for the stepping commands:
--   s   step: run to the next line, into called functions
--   n   next: run to the next line of this function or its callers
--   c   continue: let the handler run on, unwatched
-- `cont` leaves debug mode: watches and stopped handlers are released, the service logs
-- `Leave debug mode` and the console prints `<CMD OK>`.
local skynet = require "skynet"
local debugchannel = require "skynet.debugchannel"
local socketdriver = require "skynet.socketdriver"

local M = {}

local THIS_FILE = debug.getinfo(1, "S").short_src
local IDLE_TICKS = 10

-- The debug session: its channel, the held REMOTEDEBUG response, the writers to the console
-- (send_raw, send, print), the prompt and whether it is due, the top-level environment.
local session
local stepping = {} -- coroutine -> { mode = "s" | "n", depth, stopped_at }

local function top_prompt()
  return string.format(":%08x>", skynet.self())
end

local function set_prompt(text)
  session.prompt = text
  session.show_prompt = true
end

-- The coroutine stopped at a line, if any.
local function stopped()
  for co, state in pairs(stepping) do
    if state.stopped_at then
      return co, state
    end
  end
end

-- The active locals of the hooked function (level 3 from here, under this function and the
-- hook): name -> slot, the innermost of equal names. Read now: once the hook yields, Lua
-- reports the frame one instruction back, where the newest locals are not yet in scope;
-- their slots are the same.
local function hooked_locals()
  local slots = {}
  for i = 1, math.huge do
    local name = debug.getlocal(3, i)
    if name == nil then
      return slots
    end
    slots[name] = i
  end
end

-- The hook of a watched coroutine: depth counts the frames entered below the one the last
-- command started in (only in `n` mode), and a line at depth 0 stops there.
local function line_hook(event, line, source)
  local state = stepping[coroutine.running()]
  if not state or source == THIS_FILE then
    return
  end
  if event == "line" then
    if state.depth == 0 then
      state.slots = hooked_locals()
      state.stopped_at = string.format("%s(%d)>", source, line)
      set_prompt(state.stopped_at)
      return true
    end
  elseif state.mode == "n" then
    if event == "call" then
      state.depth = state.depth + 1
    elseif event == "return" and state.depth > 0 then
      state.depth = state.depth - 1
    end
  end
end

-- Runs `co` until its next stop, or until it waits or ends.
local function step(co, mode)
  local state = stepping[co]
  state.mode, state.depth, state.stopped_at = mode, 0, nil
  debugchannel.resume(co)
  if not state.stopped_at then
    set_prompt(top_prompt())
  end
end

local function release(co)
  stepping[co] = nil
  debugchannel.sethook(co)
  debugchannel.resume(co)
end

local watches = {} -- protocol name -> { dispatch = the function it wraps, cond, watcher }

-- Puts back the dispatch function a watch wrapped, unless something replaced the watcher.
local function unwatch(protoname)
  local w = watches[protoname]
  watches[protoname] = nil
  if skynet.dispatch(protoname) == w.watcher then
    skynet.dispatch(protoname, w.dispatch)
  end
end

-- Stops the next message of the protocol for which cond (if any) is true. Watching a
-- watched protocol again replaces its condition.
local function watch(protoname, cond)
  local w = watches[protoname]
  if w then
    w.cond = cond
    return
  end
  local dispatch = type(protoname) == "string" and skynet.dispatch(protoname)
  if not dispatch then
    return "No dispatch for " .. tostring(protoname)
  end
  w = { dispatch = dispatch, cond = cond }
  w.watcher = function(...)
    if watches[protoname] ~= w or (w.cond and not w.cond(...)) then
      return dispatch(...)
    end
    unwatch(protoname) -- one message only
    local co = coroutine.running()
    stepping[co] = { mode = "s", depth = 0 }
    debugchannel.sethook(line_hook, "crl")
    local result = table.pack(pcall(dispatch, ...))
    debugchannel.sethook()
    stepping[co] = nil
    if session and not stopped() then
      set_prompt(top_prompt())
    end
    if not result[1] then
      error(result[2], 0)
    end
  end
  watches[protoname] = w
  skynet.dispatch(protoname, w.watcher)
end

-- Names resolve to the stopped frame's locals, then its function's upvalues, then the
-- debugger's own names (`base`: print, watch), then the function's globals (its _ENV);
-- assignments go to the same places.
local function frame_env(co, slots, base)
  local func = debug.getinfo(co, 0, "f").func
  local function upvalue_index(name)
    for i = 1, math.huge do
      local n = debug.getupvalue(func, i)
      if n == nil or n == name then
        return n and i
      end
    end
  end
  local env_index = upvalue_index("_ENV")
  local globals = env_index and select(2, debug.getupvalue(func, env_index)) or _G
  return setmetatable({}, {
    __index = function(_, name)
      local i = slots[name]
      if i then
        return select(2, debug.getlocal(co, 0, i))
      end
      i = upvalue_index(name)
      if i then
        return select(2, debug.getupvalue(func, i))
      end
      local own = rawget(base, name)
      if own ~= nil then
        return own
      end
      return globals[name]
    end,
    __newindex = function(_, name, value)
      local i = slots[name]
      if i then
        debug.setlocal(co, 0, i, value)
        return
      end
      i = upvalue_index(name)
      if i then
        debug.setupvalue(func, i, value)
        return
      end
      globals[name] = value
    end,
  })
end

-- An expression prints its values; otherwise the line runs as a statement.
local function evaluate(line, env)
  local chunk = load("return " .. line, "=(debug)", "t", env)
  if not chunk then
    local err
    chunk, err = load(line, "=(debug)", "t", env)
    if not chunk then
      session.send(err)
      return
    end
  end
  local result = table.pack(pcall(chunk))
  if not result[1] then
    session.send(tostring(result[2]))
  elseif result.n > 1 then
    session.print(table.unpack(result, 2, result.n))
  end
end

local leave

local function run(line)
  local co, state = stopped()
  if not co then
    evaluate(line, session.env)
  elseif line == "s" or line == "n" then
    step(co, line)
  elseif line == "c" then
    release(co)
    set_prompt(top_prompt())
  else
    evaluate(line, frame_env(co, state.slots, session.env))
  end
end

-- Runs the operator's queued lines; the scheduler calls it before every message.
local function serve()
  while session do
    if session.show_prompt then
      session.show_prompt = false
      session.send_raw(session.prompt)
    end
    local line = session.channel:read()
    if line == nil then
      return
    end
    if line == "cont" then
      return leave()
    end
    if line ~= "" then
      local ok, err = pcall(run, line) -- printing a result may raise (its __tostring)
      if not ok then
        session.send(tostring(err))
      end
    end
    session.show_prompt = true
  end
end

function leave()
  for protoname in pairs(watches) do
    unwatch(protoname)
  end
  local held = stepping
  stepping = {}
  debugchannel.dispatch_hook(nil)
  local respond = session.respond
  session = nil
  for co in pairs(held) do
    debugchannel.sethook(co)
    debugchannel.resume(co)
  end
  skynet.error "Leave debug mode"
  respond(true)
end

local function idle()
  if session then
    skynet.timeout(IDLE_TICKS, idle)
  end
end

--- Enters debug mode for the console connection `fd`, reading its lines from channel `id`.
--- The REMOTEDEBUG request is answered when the operator leaves.
function M.start(fd, id)
  assert(session == nil, "Already in debug mode")
  assert(math.type(fd) == "integer", "REMOTEDEBUG needs the console's socket id")
  local channel = debugchannel.connect(id)
  skynet.error "Enter debug mode"
  local function send_raw(text)
    socketdriver.send(fd, text)
  end
  local function print(...)
    local parts = table.pack(...)
    for i = 1, parts.n do
      parts[i] = tostring(parts[i])
    end
    send_raw(table.concat(parts, "\t", 1, parts.n) .. "\n")
  end
  session = {
    channel = channel,
    respond = skynet.response(),
    send_raw = send_raw,
    print = print,
    send = function(text) send_raw(text .. "\n") end,
    env = setmetatable({ print = print, watch = watch }, { __index = _G, __newindex = _G }),
  }
  set_prompt(top_prompt())
  debugchannel.dispatch_hook(serve)
  skynet.timeout(0, idle)
end

return M
