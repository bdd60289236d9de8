-- The calling side of the cluster, byte for byte, against a fake remote node that this case
-- plays itself: sessions, pushes, trace frames, replies out of order, bad replies and a peer
-- that stops reading (docs/CLUSTER.md).
--! socket_write_limit = 1048576
local skynet = require "skynet"
require "skynet.manager"
local cluster = require "skynet.cluster"
local core = require "skynet.cluster.core"
local socket = require "skynet.socket"
local T = require "testlib"

local fake = {} -- the fake node: listener id, port, accepted connection ids in order

local function read_frame(id)
  local head = socket.read(id, 2)
  if not head then return nil end
  return socket.read(id, head:byte(1) * 256 + head:byte(2))
end

local function answer(id, session, ...)
  socket.write(id, string.pack(">s2", string.pack("<I4B", session, 1) .. skynet.packstring(...)))
end

-- The connection the sender made, waiting for it if needed.
local function connection(n)
  T.eventually(function() return fake.accepted[n] end)
  return fake.accepted[n]
end

T.test("sessions start at 1; a single push uses 0 and no session, a split push one", function()
  local calls = T.spawn(function()
    return cluster.call("fake", "@svc", "first"), cluster.call("fake", 7, "second")
  end)
  local id = connection(1)
  local f = read_frame(id)
  T.eq(f, string.pack("<Bs1I4", 0x80, "@svc", 1) .. skynet.packstring "first")
  answer(id, 1, "one")
  f = read_frame(id)
  T.eq(f, string.pack("<BI4I4", 0, 7, 2) .. skynet.packstring "second")
  answer(id, 2, "two")
  T.eq(table.pack(calls:value()), table.pack("one", "two"))
  cluster.send("fake", "@svc", "pushed")
  T.eq(read_frame(id), string.pack("<Bs1I4", 0x80, "@svc", 0) .. skynet.packstring "pushed")
  cluster.send("fake", "@svc", string.rep("p", 40000))
  local head = read_frame(id)
  T.eq(head, string.pack("<Bs1I4I4", 0xc1, "@svc", 3, #skynet.packstring(string.rep("p", 40000))))
  T.eq((string.unpack("<BI4", read_frame(id))), 2)
  T.eq(table.pack(string.unpack("<BI4", read_frame(id))), table.pack(3, 3, 6))
  local call = T.spawn(cluster.call, "fake", "@svc", "after")
  T.eq((string.unpack("<I4", read_frame(id), 7)), 4, "the session after the split push")
  answer(id, 4, "four")
  T.eq(call:value(), "four")
end)

T.test("a traced call sends its tag first, naming this node and the next session", function()
  local call = T.spawn(function()
    skynet.trace "sender-tag"
    return cluster.call("fake", "@svc", "traced")
  end)
  local id = connection(1)
  local trace = read_frame(id)
  T.eq(trace:byte(1), 4)
  local tag = trace:sub(2)
  local nodename = core.nodename()
  T.match(tag, "^%(" .. T.esc(nodename) .. "%-fake%-6%):%x+%-%d+$", "tag " .. tag)
  local request = read_frame(id)
  T.eq((string.unpack("<I4", request, 7)), 5)
  answer(id, 5, "traced back")
  T.eq(call:value(), "traced back")
end)

T.test("replies may come in any order; an unknown session is logged and ignored", function()
  local a = T.spawn(cluster.call, "fake", "@svc", "a")
  local b = T.spawn(cluster.call, "fake", "@svc", "b")
  local id = connection(1)
  local sa = (string.unpack("<I4", read_frame(id), 7))
  local sb = (string.unpack("<I4", read_frame(id), 7))
  local from = T.mark()
  answer(id, 999, "nobody")
  T.log("unknown session", from)
  answer(id, sb, "for b")
  T.eq(b:value(), "for b")
  answer(id, sa, "for a")
  T.eq(a:value(), "for a")
end)

T.test("a split reply with a wrong total gives an empty reply", function()
  local call = T.spawn(function() return table.pack(cluster.call("fake", "@svc", "split")) end)
  local id = connection(1)
  local s = (string.unpack("<I4", read_frame(id), 7))
  socket.write(id, string.pack(">s2", string.pack("<I4BI4", s, 2, 40000)))
  socket.write(id, string.pack(">s2", string.pack("<I4B", s, 3) .. string.rep("x", 32768)))
  socket.write(id, string.pack(">s2", string.pack("<I4B", s, 4) .. string.rep("x", 10)))
  T.eq(call:value().n, 0)
end)

T.test("a reply that does not decode closes the connection and fails every pending call", function()
  local a = T.spawn(cluster.call, "fake", "@svc", "a")
  local b = T.spawn(cluster.call, "fake", "@svc", "b")
  local id = connection(1)
  read_frame(id)
  read_frame(id)
  socket.write(id, string.pack(">s2", "\1\0\0\0\9bad"))
  T.match(a:err(), "call failed$")
  T.match(b:err(), "call failed$")
  T.eq(read_frame(id), nil, "the sender closed the connection")
  -- the next call dials again, and the session counter goes on
  local c = T.spawn(cluster.call, "fake", "@svc", "again")
  local id2 = connection(2)
  local s = (string.unpack("<I4", read_frame(id2), 7))
  T.ok(s > 8, "sessions continue across connections")
  answer(id2, s, "reconnected")
  T.eq(c:value(), "reconnected")
end)

T.test("a peer that stops reading: the call fails at socket_write_limit, memory stays bounded", function()
  local from = T.mark()
  local big = string.rep("w", 4 * 1024 * 1024)
  local call = T.spawn(cluster.call, "fake", "@svc", big)
  T.match(call:err(1000), "call failed$")
  T.log("socket_write_limit", from)
end)

skynet.start(function()
  fake.accepted = {}
  local id, _, port = socket.listen("127.0.0.1", 0)
  fake.id, fake.port = id, port
  socket.start(id, function(conn)
    socket.start(conn)
    fake.accepted[#fake.accepted + 1] = conn
  end)
  cluster.reload { fake = "127.0.0.1:" .. port }
  T.start()
end)
