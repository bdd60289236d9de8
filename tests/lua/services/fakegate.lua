-- fakegate: the gate service (service/gate.lua, unchanged) over a fake skynet.socketdriver,
-- so that gateserver and gate run without the socket thread. The fake records every driver
-- call and plays the socket thread: it posts PTYPE_SOCKET messages to this service, laid out
-- as core/socket_message.hpp (x86-64: i32 type, id, ud, 4 bytes padding, the buffer pointer)
-- with DATA buffers made by netpack.pack (one whole frame) or skynet.pack (see raw).
--
-- Control protocol "fake" (id 200, skynet.pack), all answered:
--   accept(listen_id, id, addr)  data(id, payload)  raw(id, ...)  peer_close(id)  error(id, text)
--   warning(id, kib)  calls() -> { "name id", ... } since the last calls()
local skynet = require "skynet"
local netpack = require "skynet.netpack"

local DATA, CONNECT, CLOSE, ACCEPT, ERROR, WARNING = 1, 2, 3, 4, 5, 7

local calls = {}
local closed = {} -- ids a CLOSE was posted for (at most one per socket)
local last_id = 100

local function post(type, id, ud, text, block, size)
  local buffer = 0
  if block then
    buffer = math.tointeger(tonumber(string.format("%p", block)))
    ud = size
  end
  local body = string.pack("<i4i4i4i4I8", type, id, ud, 0, buffer) .. (text or "")
  skynet.redirect(skynet.self(), 0, skynet.PTYPE_SOCKET, 0, body)
end

local function post_close(id)
  if not closed[id] then
    closed[id] = true
    post(CLOSE, id, 0)
  end
end

local driver = {}

function driver.listen(host, port, backlog)
  last_id = last_id + 1
  calls[#calls + 1] = string.format("listen %s %s %s", host, port, backlog)
  post(CONNECT, last_id, port == 0 and 4242 or port, host)
  return last_id
end

function driver.start(id) calls[#calls + 1] = "start " .. id end
function driver.nodelay(id) calls[#calls + 1] = "nodelay " .. id end
function driver.sink(id, service) calls[#calls + 1] = string.format("sink %d %d", id, service) end

function driver.close(id)
  calls[#calls + 1] = "close " .. id
  post_close(id)
end

function driver.shutdown(id)
  calls[#calls + 1] = "shutdown " .. id
  post_close(id)
end

package.loaded["skynet.socketdriver"] = driver

local FAKE = {}
function FAKE.accept(listen_id, id, addr) post(ACCEPT, listen_id, id, addr) end
function FAKE.data(id, payload) post(DATA, id, 0, nil, netpack.pack(payload)) end
-- A read holding skynet.pack(...): nil packs as 00 and false as 01, so (nil, false, nil)
-- is the frame 00 01 00 and a read can carry several frames and a partial one.
function FAKE.raw(id, ...) post(DATA, id, 0, nil, skynet.pack(...)) end
function FAKE.peer_close(id) post_close(id) end
function FAKE.error(id, text) post(ERROR, id, 0, text) end
function FAKE.warning(id, kib) post(WARNING, id, kib) end
function FAKE.calls()
  local list = calls
  calls = {}
  return list
end

skynet.register_protocol {
  name = "fake",
  id = 200,
  pack = skynet.pack,
  unpack = skynet.unpack,
  dispatch = function(_, _, cmd, ...)
    skynet.retpack(FAKE[cmd](...))
  end,
}

local path = assert(package.searchpath("gate", skynet.getenv "luaservice"))
assert(loadfile(path))(...)
