-- A Starling node (harbor 2) under a master played by this node over a raw socket
-- (docs/HARBOR.md): the bytes of its H and R packets, one Q per message sent to an unknown
-- name and one per burst of queryname, names cut to 16 bytes, names the harbor service
-- refuses, master packets it does not know, a newcomer announced by C (the node links to
-- this test playing harbor 5), a D for a link that is still up, the master going away.
local skynet = require "skynet"
local socket = require "skynet.socket"
local cluster = require "skynet.cluster"
local nodes = require "nodes"
local harbor_peers = require "harbor_peers"
local T = require "testlib"

local master = { packets = {} }
local address
local node

local free_port = harbor_peers.free_port

local packet = harbor_peers.packet

local function eval(code)
  return harbor_peers.eval("x", code)
end

local function spawn(code)
  return harbor_peers.spawn("x", code)
end

-- The packets the node sent so far, as raw bytes (length byte included), from `first` on.
local function sent(first)
  local out = {}
  for i = first or 1, #master.packets do
    out[#out + 1] = master.packets[i]
  end
  return out
end

local function listen_as_master()
  local id, _, port = socket.listen("127.0.0.1", 0)
  socket.start(id, function(fd)
    socket.start(fd)
    master.fd = fd
    skynet.fork(function()
      while true do
        local size = socket.read(fd, 1)
        local body = size and socket.read(fd, size:byte())
        if not body then
          return
        end
        master.packets[#master.packets + 1] = size .. body
        local kind, name = skynet.unpack(body)
        if kind == "H" then
          socket.write(fd, packet("W", 0))
        elseif kind == "Q" and name == "SERVICE" then
          -- No standalone node here: the node's own service manager answers its REPORT.
          socket.write(fd, packet("N", "SERVICE", 0x02000006))
        end
      end
    end)
  end)
  return port
end

T.test("the node's handshake and registration, byte for byte", function()
  local port = listen_as_master()
  address = "127.0.0.1:" .. free_port()
  node = nodes.start("x", "harbor_peer", {
    "harbor = 2",
    string.format('master = "127.0.0.1:%d"', port),
    string.format('address = "%s"', address),
  })
  cluster.reload { x = "127.0.0.1:" .. node.port }
  T.eventually(function() return #master.packets >= 3 end)
  T.eq(master.packets[1], packet("H", 2, address))
  -- The boot's service manager reports to SERVICE (spec: boot `Q SERVICE` + `REPORT`).
  T.eq(master.packets[2], packet("Q", "SERVICE"))
  T.eq(master.packets[3], packet("R", "PEER2", 0x02000007))
  T.match(node:log(), "%[:02000004%] Waiting for 0 harbors")
end, 3000)

T.test("one Q per message to an unknown name, one per burst of queryname; N answers all", function()
  local before = #master.packets
  eval 'for i = 1, 3 do skynet.send("UNK1", "lua", "note", "queued " .. i) end return true'
  local q1 = spawn 'return harbor.queryname "UNK2"'
  local q2 = spawn 'return harbor.queryname "UNK2"'
  T.eventually(function() return #master.packets >= before + 4 end)
  skynet.sleep(20)
  local q_unk1, q_unk2 = packet("Q", "UNK1"), packet("Q", "UNK2")
  local counts = {}
  for _, p in ipairs(sent(before + 1)) do
    counts[p] = (counts[p] or 0) + 1
  end
  T.eq({ counts[q_unk1], counts[q_unk2] }, { 3, 1 })
  T.ok(not q1() and not q2(), "queryname returned before the name was known")
  socket.write(master.fd, packet("N", "UNK2", 0x02000007) .. packet("N", "UNK1", 0x02000007))
  T.eventually(function() return q1() and q2() end)
  T.eq({ q1()[2], q2()[2] }, { 0x02000007, 0x02000007 })
  T.eventually(function() return node:log():find "NOTE queued 3" end)
  T.match(node:log(), "NOTE queued 1.*NOTE queued 2.*NOTE queued 3")
end, 3000)

T.test("a name is cut to 16 bytes when sent to, and refused from 16 bytes on", function()
  local before = #master.packets
  eval 'skynet.send("ABCDEFGHIJKLMNOPQRST", "lua", "note", 1) return true'
  T.eventually(function() return #master.packets > before end)
  T.eq(master.packets[before + 1], packet("Q", "ABCDEFGHIJKLMNOP"))
  socket.write(master.fd, packet("N", "ABCDEFGHIJKLMNOPQ", 0x02000007))
  T.eventually(function()
    return node:log():find "%[:02000005%] Invalid global name ABCDEFGHIJKLMNOPQ"
  end)
  T.eq(eval 'return (pcall(skynet.name, string.rep("n", 16), skynet.self()))', false)
  T.eq(eval 'return skynet.localname "PEER2"', nil)
end, 3000)

T.test("master packets of unknown types are ignored, bad ones logged", function()
  socket.write(master.fd, packet("Z", 1))
  socket.write(master.fd, packet("C", "not an id", 1))
  T.eventually(function() return node:log():find "%[:02000004%] Invalid master packet C" end)
  socket.write(master.fd, packet("N", "LATER", 0x02000007))
  T.eq(eval 'return harbor.queryname "LATER"', 0x02000007)
end, 3000)

local frame = harbor_peers.frame

local read_frame = harbor_peers.read_frame

T.test("C makes the node link to a newcomer; D leaves a live link up", function()
  local listener, _, port = socket.listen("127.0.0.1", 0)
  local link
  socket.start(listener, function(fd)
    socket.start(fd)
    link = fd
  end)
  local connected = spawn "harbor.connect(5) return true"
  socket.write(master.fd, packet("C", 5, "127.0.0.1:" .. port))
  T.eventually(function() return link end)
  T.eq(socket.read(link, 1), "\2", "the connector's id byte")
  T.eventually(connected)
  T.match(node:log(), "%[:02000004%] Connect to harbor 5 %(fd=%d+%), 127%.0%.0%.1:" .. port)
  socket.write(link, "\5")
  local call = spawn 'return skynet.call(0x05000001, "lua", "echo", "over the link")'
  local f = read_frame(link)
  T.eq({ f.source, f.type, f.dest }, { 0x02000007, 10, 1 })
  socket.write(link, frame(0x05000001, 1, 7, f.session, skynet.packstring("answered")))
  T.eventually(call)
  T.eq(call()[2], "answered")
  -- The master says 5 is gone: harbor.link(5) returns, the link itself stays up.
  local watched = spawn "harbor.link(5) return true"
  skynet.sleep(10)
  T.ok(not watched(), "harbor.link(5) returned while 5 was linked")
  socket.write(master.fd, packet("D", 5))
  T.eventually(watched)
  call = spawn 'return skynet.call(0x05000001, "lua", "echo", "after D")'
  f = read_frame(link)
  socket.write(link, frame(0x05000001, 1, 7, f.session, skynet.packstring("still here")))
  T.eventually(call)
  T.eq(call()[2], "still here")
  socket.close(link)
  socket.close(listener)
end, 3000)

T.test("the node keeps working when the master goes; linkmaster returns", function()
  local lost = spawn "harbor.linkmaster() return true"
  skynet.sleep(10)
  T.ok(not lost(), "linkmaster returned while the master lives")
  socket.close(master.fd)
  T.eventually(lost)
  T.match(node:log(), "%[:02000004%] Master disconnect")
  T.eq(eval 'return skynet.call("PEER2", "lua", "echo", "alone")', "alone")
end, 3000)

skynet.start(function()
  T.start()
end)
