-- Harbor mode under faults and bad input (docs/HARBOR.md, "Failures"): this node (harbor 0)
-- starts Starling nodes A (harbor 1, the master) and B (2), and plays other harbors and
-- slaves itself over raw sockets: a wrong id byte, a frame length of 2^24, a peer that closes
-- in the middle of a frame, bad packets to the master, a peer that stops reading; then the
-- master node dies. Every fault
-- gets its log line, calls fail instead of hanging, and the nodes keep working.
local skynet = require "skynet"
local socket = require "skynet.socket"
local harbor_peers = require "harbor_peers"
local T = require "testlib"

local group  -- harbor_peers.group(), made when the case starts
local eval = harbor_peers.eval
local spawn = harbor_peers.spawn

local function logged(name, pattern)
  T.eventually(function() return group.nodes[name]:log():find(pattern) ~= nil end, 1000,
    name .. " logs " .. pattern)
end

-- ---- the bytes ---------------------------------------------------------------------------

local packet = harbor_peers.packet

local function read_packet(fd)
  local size = socket.read(fd, 1)
  local body = size and socket.read(fd, size:byte())
  if not body then
    return nil
  end
  return skynet.unpack(body)
end

local frame = harbor_peers.frame

local read_frame = harbor_peers.read_frame

-- A harbor played by this node: it tells the master it is harbor `id` and accepts the links
-- of the nodes already there; `links[peer id]` is each link's socket once its id byte came.
local function fake_harbor(id)
  local listener, _, port = socket.listen("127.0.0.1", 0)
  local master = assert(socket.open("127.0.0.1", group.port))
  local h = { links = {}, master = master }
  socket.start(listener, function(fd)
    socket.start(fd)
    local byte = socket.read(fd, 1)
    if byte then
      h.links[byte:byte()] = fd
    end
  end)
  socket.write(master, packet("H", id, "127.0.0.1:" .. port))
  local t, count = read_packet(master)
  T.eq(t, "W")
  h.count = count
  T.eventually(function()
    local n = 0
    for _ in pairs(h.links) do
      n = n + 1
    end
    return n == count
  end, 1000, "the nodes linked to the fake harbor")
  socket.close(listener)
  return h
end

T.test("boot A (the master) and B", function()
  group = harbor_peers.group()
  group.start("a", 1, true)
  group.start("b", 2)
  T.eq(eval("b", 'return skynet.call("PEER1", "lua", "echo", 1)'), 1)
end, 3000)

T.test("a wrong id byte and a length of 2^24 mark the harbor down: calls to it fail", function()
  local h = fake_harbor(9)
  T.eq(h.count, 2)
  local link = spawn("b", "harbor.link(9) return true")
  skynet.sleep(10)
  T.ok(not link(), "harbor.link(9) returned while the link was being set up")
  socket.write(h.links[2], "\8") -- B expects 9
  logged("b", "%[:02000005%] Invalid shakehand id %(9%) from fd = %d+ , harbor = 8")
  T.eventually(link, 1000, "harbor.link(9) returned when the link broke (skynet's never does)")
  socket.write(h.links[1], "\9\1\0\0\0")
  logged("a", "%[:01000006%] Message is too long from harbor 9")
  for name, prefix in pairs { a = "1000009", b = "2000007" } do
    T.eq(table.pack(eval(name, 'return pcall(skynet.call, 0x09000001, "lua", "echo", 1)')),
      table.pack(false, "call failed"))
    logged(name, "Drop message to harbor 9 from " .. prefix .. " to 9000001 %(session = %d+, msgsz = %d+%)")
  end
  T.eq(eval("b", 'return skynet.call("PEER1", "lua", "echo", "still")'), "still")
  socket.close(h.master)
end, 3000)

T.test("frames both ways with source and session; a peer that closes mid-frame", function()
  local h = fake_harbor(10)
  socket.write(h.links[2], "\10")
  socket.write(h.links[1], "\10")
  -- B's call reaches this fake as one frame, and its reply goes back to the caller.
  local first = spawn("b", 'return skynet.call(0x0a000001, "lua", "echo", "ping")')
  local f = read_frame(h.links[2])
  T.eq({ f.source, f.type, f.dest, f.payload }, { 0x02000007, 10, 1, skynet.packstring("echo", "ping") })
  socket.write(h.links[2], frame(0x0a000001, 1, 7, f.session, skynet.packstring("pong")))
  local r
  T.eventually(function()
    r = first()
    return r
  end)
  T.eq({ r[1], r[2] }, { true, "pong" })
  -- A call from this fake to B's peer service, answered over the same link.
  socket.write(h.links[2], frame(0x0a000001, 10, 7, 77, skynet.packstring("echo", "from 10")))
  local answer = read_frame(h.links[2])
  T.eq({ answer.source, answer.type, answer.dest, answer.session, answer.payload },
    { 0x02000007, 1, 1, 77, skynet.packstring("from 10") })
  -- Pending when the peer goes away in the middle of a frame.
  local pending = spawn("b", 'return skynet.call(0x0a000001, "lua", "echo", "lost")')
  T.ok(read_frame(h.links[2]))
  socket.write(h.links[2], string.pack(">I4", 100) .. "half")
  socket.close(h.links[2])
  T.eventually(function()
    r = pending()
    return r
  end, 1000)
  T.eq(r[1], false)
  T.match(r[2], "call failed$")
  logged("b", "%[:02000005%] Harbor 10 link closed %(fd = %d+%): 1 call%(s%) in flight failed")
  T.eq(eval("a", 'return skynet.call("PEER2", "lua", "echo", "b lives")'), "b lives")
  socket.close(h.links[1])
  socket.close(h.master)
end, 3000)

T.test("the master refuses bad handshakes and drops a slave that sends a bad R", function()
  local function refused(...)
    local fd = assert(socket.open("127.0.0.1", group.port))
    socket.write(fd, packet(...))
    T.ok(not socket.read(fd, 1), "the master closes the connection")
    socket.close(fd)
  end
  refused("R", "X", 1)
  logged("a", "%[:01000004%] disconnect fd = %d+, error = .*cmaster%.lua:%d+: Invalid handshake type R")
  refused("H", 0, "127.0.0.1:1")
  logged("a", "disconnect fd = %d+, error = .*: Invalid slave id 0")
  refused("H", 2, "127.0.0.1:1")
  logged("a", "disconnect fd = %d+, error = .*: Slave 2 already register on 127%.0%.0%.1:%d+")
  local h = fake_harbor(11)
  socket.write(h.master, packet("X"))
  logged("a", "%[:01000004%] Invalid slave message type X")
  local link = spawn("b", "harbor.link(11) return true")
  socket.write(h.master, packet("R", "BAD", "notanumber"))
  logged("a", "%[:01000004%] slave 11 is down")
  T.eventually(link, 1000, "B's harbor.link(11) returned at the master's D")
  for _, fd in pairs(h.links) do
    socket.close(fd)
  end
  socket.close(h.master)
end, 3000)

T.test("a peer that stops reading: the sender logs the unsent bytes as they grow", function()
  local h = fake_harbor(12)
  socket.write(h.links[2], "\12")
  socket.write(h.links[1], "\12")
  eval("b", [[
    local block = string.rep("z", 100000)
    for _ = 1, 160 do skynet.send(0x0c000001, "lua", block) end
    return true
  ]])
  logged("b", "%[:02000005%] message havn't send to Harbor %(12%) reach %d+ K")
  T.eq(eval("b", 'return skynet.call("PEER1", "lua", "echo", "unaffected")'), "unaffected")
  for _, fd in pairs(h.links) do
    socket.close(fd)
  end
  socket.close(h.master)
end, 3000)

T.test("the master node dies: the others keep calling each other", function()
  group.start("c", 3)
  local master = spawn("b", "harbor.linkmaster() return true")
  skynet.sleep(10)
  T.ok(not master(), "linkmaster returned while the master lives")
  group.nodes.a:kill()
  logged("b", "%[:02000004%] Master disconnect")
  logged("c", "%[:03000004%] Master disconnect")
  T.eventually(master)
  T.eq(eval("b", 'return skynet.call("PEER3", "lua", "echo", "c")'), "c")
  T.eq(eval("c", 'return skynet.call(0x02000007, "lua", "echo", "b")'), "b")
  T.eq(table.pack(eval("b", 'return pcall(skynet.call, "PEER1", "lua", "echo", 1)')),
    table.pack(false, "call failed"))
end, 3000)

skynet.start(function()
  T.start()
end)
