-- The listening side of the cluster, byte for byte: the session recorded between two real skynet
-- nodes (tests/vectors/cluster.json, wire_session) replayed against this node, split requests
-- interleaved with small ones, and the frames that close a connection (docs/CLUSTER.md).
local skynet = require "skynet"
require "skynet.manager"
local cluster = require "skynet.cluster"
local core = require "skynet.cluster.core"
local socket = require "skynet.socket"
local json = require "json"
local typed = require "typed"
local T = require "testlib"

local port, echo

local hex, unhex = typed.hex, typed.unhex

local function connect()
  return assert(socket.open("127.0.0.1", port))
end

-- One frame from the node: its body, or nil when the connection closed.
local function read_frame(id)
  local head = socket.read(id, 2)
  if not head then return nil end
  return socket.read(id, head:byte(1) * 256 + head:byte(2))
end

local function frame(body)
  return string.pack(">s2", body)
end

local function response(session, ok, data)
  return string.pack("<I4B", session, ok and 1 or 0) .. data
end

-- A response body minus the error text prefix of the runtime (file:line).
local function strip_prefix(body)
  local head, text = body:sub(1, 5), body:sub(6)
  if body:byte(5) == 0 then
    text = text:gsub("^[^:]*:%d+: ", "")
  end
  return head .. text
end

T.test("the recorded two-node session, replayed, gets the same responses", function()
  local session = json.read(skynet.getenv "test_vectors" .. "/cluster.json").wire_session
  local recorded_echo = tonumber(session.server_handles.echo:sub(3), 16)
  local id = connect()
  for i = 1, session.operations.n do
    local op = session.operations[i]
    for j = 1, op.frames_a_to_b.n do
      local bytes = unhex(op.frames_a_to_b[j])
      -- numeric addresses name the recorded node's echo: use ours
      if bytes:byte(3) == 0 and string.unpack("<I4", bytes, 4) == recorded_echo then
        bytes = bytes:sub(1, 3) .. string.pack("<I4", echo) .. bytes:sub(8)
      end
      socket.write(id, bytes)
    end
    for j = 1, op.frames_b_to_a.n do
      local want = unhex(op.frames_b_to_a[j]):sub(3)
      if op.name == "query_name" then
        want = response(string.unpack("<I4", want), true, skynet.packstring(echo))
      end
      local got = read_frame(id)
      T.ok(got, op.name .. ": a response")
      T.eq(hex(strip_prefix(got)), hex(strip_prefix(want)), op.name)
    end
  end
  -- nothing more was sent back
  socket.write(id, unhex "00128005406563686f6300000034747261636564")
  T.eq(hex(read_frame(id)), hex(response(0x63, true, unhex "34747261636564")))
  socket.close(id)
end)

T.test("a small request between the parts of a split one: both are answered", function()
  local id = connect()
  local big = string.rep("b", 70000)
  local head, _, parts = core.packrequest("@echo", 100, skynet.pack(big))
  T.ok(parts and #parts == 3, "three parts")
  socket.write(id, head)
  socket.write(id, parts[1])
  socket.write(id, (core.packrequest("@echo", 101, skynet.pack "small")))
  socket.write(id, parts[2])
  socket.write(id, parts[3])
  local first = read_frame(id)
  T.eq(string.unpack("<I4", first), 101)
  T.eq(skynet.unpack(first:sub(6)), "small")
  local reply = {}
  for _ = 1, 4 do -- begin, two full pieces, last
    reply[#reply + 1] = read_frame(id)
  end
  T.eq(reply[1], string.pack("<I4BI4", 100, 2, #skynet.packstring(big)))
  local joined = {}
  for k = 2, 4 do
    T.eq(string.unpack("<I4", reply[k]), 100)
    joined[#joined + 1] = reply[k]:sub(6)
  end
  T.eq(skynet.unpack(table.concat(joined)), big)
  socket.close(id)
end)

T.test("a wrong total, for a call and for a push, and an orphan last part get errors", function()
  local id = connect()
  socket.write(id, frame(string.pack("<Bs1I4I4", 0x81, "@echo", 200, 1000)))
  socket.write(id, frame(string.pack("<BI4", 3, 200) .. string.rep("x", 10)))
  T.eq(read_frame(id), response(200, false, "Invalid large req"))
  socket.write(id, frame(string.pack("<Bs1I4I4", 0xc1, "@echo", 201, 1000)))
  socket.write(id, frame(string.pack("<BI4", 3, 201) .. string.rep("x", 10)))
  T.eq(read_frame(id), response(201, false, "Invalid large req"))
  socket.write(id, frame(string.pack("<BI4", 3, 202) .. "orphan"))
  T.eq(read_frame(id), response(202, false, "Invalid name"))
  -- a push to an unknown name is answered with session 0
  socket.write(id, frame(string.pack("<Bs1I4", 0x80, "@nosuch", 0) .. skynet.packstring(1)))
  T.eq(read_frame(id), response(0, false, "Invalid name"))
  socket.close(id)
end)

local function closes(name, bytes, why)
  T.test(name .. " closes that connection only", function()
    local other = connect()
    local id = connect()
    local from = T.mark()
    socket.write(id, bytes)
    T.eq(read_frame(id), nil, "closed without a response")
    T.log("cluster: closing connection %d+: .-" .. why, from)
    socket.close(id)
    socket.write(other, (core.packrequest("@echo", 1, skynet.pack "alive")))
    T.eq(skynet.unpack(read_frame(other):sub(6)), "alive")
    socket.close(other)
  end)
end

closes("an empty frame", frame "", "Invalid req package")
closes("an unknown kind", frame "\5\0\0\0\0", "Invalid req package type 5")
closes("a short request", frame "\0\1\2", "Invalid cluster message")
closes("a split request over the limit",
  frame(string.pack("<Bs1I4I4", 0x81, "@echo", 7, 200 * 1024 * 1024)), "over cluster_split_limit")
closes("split requests over the limit together",
  frame(string.pack("<Bs1I4I4", 0x81, "@echo", 8, 100 * 1024 * 1024))
    .. frame(string.pack("<Bs1I4I4", 0xc1, "@echo", 9, 100 * 1024 * 1024)), "with %d+ pending, over cluster_split_limit")

T.test("a connection dropped in the middle of a frame leaves the node working", function()
  local id = connect()
  socket.write(id, "\0\100\0\1")
  socket.close(id)
  T.eq(cluster.call("self", "@echo", "half"), "half")
end)

skynet.start(function()
  echo = skynet.newservice "cluster_mirror"
  skynet.name(".echo_local", echo)
  cluster.register("echo", echo)
  cluster.register("err", skynet.newservice("cluster_mirror", "fail"))
  local _
  _, port = cluster.open(0)
  cluster.reload { self = "127.0.0.1:" .. port }
  T.start()
end)
