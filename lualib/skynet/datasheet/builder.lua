-- skynet.datasheet.builder (docs/LIBRARIES.md "datasheet"): publishes versions of named
-- documents to the datasheet service. This service keeps each document string alive until
-- no reader holds its version.
local skynet = require "skynet"
local service = require "skynet.service"
local core = require "skynet.datasheet.core"
local dump = require "skynet.datasheet.dump"

-- The datasheet service; its main function travels as bytecode (no upvalues but _ENV).
local function datasheet_service()
  local skynet = require "skynet"

  local sheets = {}     -- name -> { current = ptr, monitors = { [source] = response } }
  local version_of = {} -- ptr -> name
  local refs = {}       -- ptr -> readers holding it
  local collectors = {} -- ptr -> response waiting for refs to reach 0
  local clients = {}    -- source -> { [ptr] = count }

  local function adjust(source, ptr, delta)
    local held = clients[source]
    if not held then
      held = {}
      clients[source] = held
    end
    local n = (held[ptr] or 0) + delta
    held[ptr] = n > 0 and n or nil
    refs[ptr] = (refs[ptr] or 0) + delta
    if refs[ptr] <= 0 and collectors[ptr] then
      local response = collectors[ptr]
      collectors[ptr] = nil
      refs[ptr] = nil
      version_of[ptr] = nil
      response(true)
    end
  end

  local CMD = {}

  function CMD.update(_, name, ptr)
    local sheet = sheets[name]
    version_of[ptr] = name
    refs[ptr] = refs[ptr] or 0
    if not sheet then
      sheets[name] = { current = ptr, monitors = {} }
      return
    end
    sheet.current = ptr
    local monitors = sheet.monitors
    sheet.monitors = {}
    for source, m in pairs(monitors) do
      adjust(source, m.ptr, -1)
      adjust(source, ptr, 1)
      m.response(true, ptr)
    end
  end

  function CMD.query(source, name)
    local sheet = sheets[name]
    assert(sheet, "create data first")
    adjust(source, sheet.current, 1)
    return sheet.current
  end

  function CMD.monitor(source, ptr)
    local name = assert(version_of[ptr], "unknown version")
    local sheet = sheets[name]
    if sheet.current ~= ptr then
      adjust(source, ptr, -1)
      adjust(source, sheet.current, 1)
      return sheet.current
    end
    sheet.monitors[source] = { ptr = ptr, response = skynet.response() }
    return false
  end

  function CMD.release(source, ptr)
    local name = version_of[ptr]
    if not name then return end
    local sheet = sheets[name]
    local m = sheet.monitors[source]
    if m and m.ptr == ptr then
      sheet.monitors[source] = nil
      m.response(false)
    end
    adjust(source, ptr, -1)
  end

  function CMD.close(source)
    for ptr, n in pairs(clients[source] or {}) do
      local sheet = sheets[version_of[ptr]]
      local m = sheet and sheet.monitors[source]
      if m then
        sheet.monitors[source] = nil
        m.response(false)
      end
      adjust(source, ptr, -n)
    end
    clients[source] = nil
  end

  function CMD.collect(_, ptr)
    if (refs[ptr] or 0) <= 0 then
      refs[ptr] = nil
      version_of[ptr] = nil
      return
    end
    collectors[ptr] = skynet.response()
    return false
  end

  skynet.info_func(function()
    local info = {}
    for name, sheet in pairs(sheets) do
      local n = 0
      for _ in pairs(sheet.monitors) do n = n + 1 end
      info[name] = { handle = sheet.current, monitors = n }
    end
    for ptr, n in pairs(refs) do
      if sheets[version_of[ptr]] and sheets[version_of[ptr]].current ~= ptr then info[ptr] = n end
    end
    return info
  end)

  local oneway = { release = true, close = true }
  skynet.dispatch("lua", function(_, source, cmd, ...)
    local f = assert(CMD[cmd], cmd)
    if oneway[cmd] then
      f(source, ...)
      return
    end
    local r = table.pack(f(source, ...))
    if r[1] ~= false then skynet.ret(skynet.pack(table.unpack(r, 1, r.n))) end
  end)
end

local address
skynet.init(function()
  address = service.new("datasheet", datasheet_service)
end)

local builder = {}
local docs = {} -- name -> { doc = string, version = layout of the last version }

function builder.compile(v)
  return (dump.encode(v))
end

function builder.new(name, v)
  assert(docs[name] == nil)
  local doc, version
  if type(v) == "string" then
    doc = v
  else
    doc, version = dump.encode(v)
  end
  docs[name] = { doc = doc, version = version }
  skynet.call(address, "lua", "update", name, core.stringpointer(doc))
end

function builder.update(name, v)
  local last = assert(docs[name])
  local doc, version = dump.encode(v, last.version)
  docs[name] = { doc = doc, version = version }
  skynet.call(address, "lua", "update", name, core.stringpointer(doc))
  -- The previous document lives until no reader holds it.
  skynet.fork(function()
    skynet.call(address, "lua", "collect", core.stringpointer(last.doc))
    last.doc = nil
  end)
end

return builder
