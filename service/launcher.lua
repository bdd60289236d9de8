-- `.launcher` (docs/LUA_SERVICES.md): creates services for newservice and answers the caller
-- only once the new service reports that its start function returned (or failed).
local skynet = require "skynet"
local core = require "skynet.core"
require "skynet.manager"

local services = {}   -- handle -> "<module> <param>" of every service launched here and alive
local pending = {}    -- handle -> response closure of the LAUNCH still waiting for that service
local sessions = {}   -- handle -> session of that LAUNCH request (for QUERY)

local NORET = {}      -- a command's result when it replies by itself or not at all

local command = {}

local function forget_launch(handle)
  local response = pending[handle]
  pending[handle] = nil
  sessions[handle] = nil
  return response
end

local function launch(module, ...)
  -- Fails on a boolean (or any non string/number) argument: the caller gets "call failed".
  local param = table.concat({ ... }, " ")
  local session = skynet.context()
  local response = skynet.response()
  local handle = skynet.launch(module, param)
  if not handle then
    response(false)
    return nil
  end
  services[handle] = module .. " " .. param
  pending[handle] = response
  sessions[handle] = session
  return handle
end

function command.LAUNCH(_, module, ...)
  launch(module, ...)
  return NORET
end

function command.LOGLAUNCH(_, module, ...)
  local handle = launch(module, ...)
  if handle then
    core.command("LOGON", skynet.address(handle))
  end
  return NORET
end

function command.LAUNCHOK(source)
  local response = forget_launch(source)
  if response then
    response(true, source)
  end
  return NORET
end

function command.ERROR(source)
  -- The service exits right after reporting; it is no longer listed.
  services[source] = nil
  local response = forget_launch(source)
  if response then
    response(false)
  end
  return NORET
end

function command.REMOVE(_, handle, killed)
  services[handle] = nil
  local response = forget_launch(handle)
  if response then
    -- Exited during its start function: newservice returns nil; killed: newservice fails.
    if killed then
      response(false)
    else
      response(true)
    end
  end
  return NORET
end

function command.QUERY(_, session)
  for handle, s in pairs(sessions) do
    if s == session then
      return handle
    end
  end
end

function command.LIST()
  local list = {}
  for handle, name in pairs(services) do
    list[skynet.address(handle)] = name
  end
  return list
end

-- Sends a debug command to every listed service at once and waits at most ti ticks
-- (nil or <= 0: no limit). Returns the services asked (handle -> name, as listed when asked)
-- and handle -> first reply value, or false for a failed request; handles that did not
-- answer in time are absent.
local function ask_all(ti, cmd)
  if ti and ti <= 0 then
    ti = nil
  end
  local asked = {}
  local set = skynet.request()
  for handle, name in pairs(services) do
    asked[handle] = name
    set:add { handle, "debug", cmd }
  end
  local answers = {}
  if next(asked) then
    for req, resp in set:select(ti) do
      answers[req[1]] = resp and resp[1] or false
    end
  end
  return asked, answers
end

function command.STAT(_, ti)
  local asked, answers = ask_all(ti, "STAT")
  local list = {}
  for handle in pairs(asked) do
    local answer = answers[handle]
    if answer == nil then
      answer = "TIMEOUT"
    elseif answer == false then
      answer = "ERROR"
    end
    list[skynet.address(handle)] = answer
  end
  return list
end

function command.MEM(_, ti)
  local asked, answers = ask_all(ti, "MEM")
  local list = {}
  for handle, name in pairs(asked) do
    local answer = answers[handle]
    if answer == nil then
      answer = "TIMEOUT (" .. name .. ")"
    elseif type(answer) ~= "number" then
      answer = "ERROR (" .. name .. ")"
    else
      answer = string.format("%.2f Kb (%s)", answer, name)
    end
    list[skynet.address(handle)] = answer
  end
  return list
end

function command.GC(source, ti)
  for handle in pairs(services) do
    skynet.send(handle, "debug", "GC")
  end
  return command.MEM(source, ti)
end

function command.KILL(_, handle)
  if type(handle) == "string" and handle:sub(1, 1) == ":" then
    handle = tonumber(handle:sub(2), 16)
  end
  skynet.kill(handle)
  local name = services[handle]
  services[handle] = nil
  return { [skynet.address(handle)] = tostring(name) }
end

skynet.dispatch("lua", function(_, source, cmd, ...)
  local f = command[string.upper(cmd)]
  if not f then
    skynet.ret(skynet.pack { "Unknown command" })
    return
  end
  local result = f(source, ...)
  if result ~= NORET then
    skynet.ret(skynet.pack(result))
  end
end)

-- snlua reports a Lua service whose loader failed with the text "ERROR"; "" is LAUNCHOK.
skynet.register_protocol {
  name = "text",
  id = skynet.PTYPE_TEXT,
  unpack = skynet.tostring,
  dispatch = function(_, source, text)
    if text == nil or text == "" then
      command.LAUNCHOK(source)
    elseif text == "ERROR" then
      command.ERROR(source)
    else
      error("launcher: invalid text command " .. text)
    end
  end,
}

skynet.start(function() end)
