-- skynet.cluster.core inside a running service: require finds the native module, and the
-- buffers it makes and takes travel through the runtime the way clustersender and
-- clusteragent pass them (skynet.pack'ed messages given to packrequest, decoded requests given
-- to rawcall / rawsend / trash, replies of rawcall given to packresponse, client messages
-- decoded from the runtime's own buffer). Under ASan a buffer freed twice or never shows.
-- (Every byte and error text is checked by lua_cluster_core_test against
-- tests/vectors/cluster.json.)
local skynet = require "skynet"
local cluster = require "skynet.cluster.core"
local T = require "testlib"

local echo

-- The receiving side of a request as clusteragent runs it: the frames decoded, a split
-- request joined. Returns addr, session, msg, sz, is_push.
local function receive(frames)
  local large = {}
  for _, frame in ipairs(frames) do
    local addr, session, msg, sz, padding, is_push = cluster.unpackrequest(frame:sub(3))
    if padding then
      local req = large[session] or { addr = addr, is_push = is_push }
      large[session] = req
      cluster.append(req, msg, sz)
    else
      local req = large[session]
      if req then
        large[session] = nil
        cluster.append(req, msg, sz)
        msg, sz = cluster.concat(req)
        addr, is_push = req.addr, req.is_push
      end
      return addr, session, msg, sz, is_push
    end
  end
end

-- The calling side of a reply as clustersender runs it: the pieces collected, then joined.
local function deliver(response)
  local frames = type(response) == "table" and response or { response }
  local collected
  for _, frame in ipairs(frames) do
    local session, ok, data, padding = cluster.unpackresponse(frame:sub(3))
    if padding then
      collected = collected or {}
      table.insert(collected, data)
    elseif collected then
      table.insert(collected, data)
      local msg, sz = cluster.concat(collected)
      local values = table.pack(session, ok, skynet.unpack(msg, sz))
      skynet.trash(msg, sz)
      return values
    else
      return table.pack(session, ok, skynet.unpack(data))
    end
  end
end

local function request_frames(request, _, pieces)
  local frames = { request }
  for _, p in ipairs(pieces or {}) do frames[#frames + 1] = p end
  return frames
end

T.test("setup: require finds the module, an echo service", function()
  for _, name in ipairs { "packrequest", "packpush", "packtrace", "unpackrequest", "packresponse",
                          "unpackresponse", "append", "concat", "isname", "nodename" } do
    T.eq(type(cluster[name]), "function", name)
  end
  T.match(cluster.nodename(), "%d+$", "the process id ends the node name")
  echo = skynet.newservice("echo")
end)

T.test("a call: its message freed by packrequest, the decoded one taken by rawcall", function()
  local request, next_session = cluster.packrequest(echo, 5, skynet.pack("echo", "hello", 1))
  T.eq(next_session, 6)
  local addr, session, msg, sz = receive { request }
  T.eq(addr, echo)
  T.eq(session, 5)
  local reply, reply_size = skynet.rawcall(addr, "lua", msg, sz)
  T.eq(deliver(cluster.packresponse(session, true, reply, reply_size)),
       table.pack(5, true, "hello", 1))
end)

T.test("100000 bytes each way: pieces joined, called, the reply split and joined", function()
  local big = string.rep("x", 100000)
  local frames = request_frames(cluster.packrequest("@echo", 7, skynet.pack("echo", big)))
  T.eq(#frames, 5, "a header and four pieces")
  local addr, session, msg, sz = receive(frames)
  T.eq(addr, "@echo")
  local reply, reply_size = skynet.rawcall(echo, "lua", msg, sz)
  local response = cluster.packresponse(session, true, reply, reply_size)
  T.eq(type(response), "table", "a split reply")
  T.eq(deliver(response), table.pack(7, true, big))
end)

T.test("a push: the decoded buffer taken by rawsend, split or whole", function()
  local request = cluster.packpush(echo, 3, skynet.pack("collect", "push", "small"))
  local addr, session, msg, sz, is_push = receive { request }
  T.eq(session, 0)
  T.ok(is_push, "is_push")
  skynet.rawsend(addr, "lua", msg, sz)
  local big = string.rep("p", 40000)
  addr, session, msg, sz, is_push = receive(request_frames(
    cluster.packpush(echo, 4, skynet.pack("collect", "push", big))))
  T.eq(session, 4, "a split push carries its session")
  T.ok(is_push, "is_push")
  skynet.rawsend(addr, "lua", msg, sz)
  T.eq(skynet.call(echo, "lua", "get", "push"), { "small", big })
end)

T.test("a name query: the decoded buffer unpacked, then trashed", function()
  local _, session, msg, sz = receive { cluster.packrequest(0, 9, skynet.pack("echo")) }
  T.eq(session, 9)
  T.eq(skynet.unpack(msg, sz), "echo")
  skynet.trash(msg, sz)
  local response = cluster.packresponse(session, true, skynet.packstring(echo))
  T.eq(deliver(response), table.pack(9, true, echo))
end)

T.test("client messages decoded from the runtime's buffer", function()
  local got = {}
  skynet.register_protocol {
    name = "client",
    id = skynet.PTYPE_CLIENT,
    unpack = cluster.unpackrequest,
    dispatch = function(_, _, addr, session, msg, sz, padding, is_push)
      if session == nil then
        got[#got + 1] = { trace = addr }
        return
      end
      got[#got + 1] = { addr = addr, session = session, data = msg and skynet.tostring(msg, sz),
                        padding = padding, is_push = is_push }
      if msg then skynet.trash(msg, sz) end
    end,
  }
  for _, frame in ipairs {
    cluster.packtrace("(node-B-3)tag"),
    cluster.packrequest(".echo", 2, "abc"),
    (cluster.packpush(10, 1, "")),
  } do
    skynet.rawsend(skynet.self(), "client", frame:sub(3))
  end
  T.eventually(function() return #got == 3 end)
  T.eq(got, {
    { trace = "(node-B-3)tag" },
    { addr = ".echo", session = 2, data = "abc" },
    { addr = 10, session = 0, data = "", is_push = true },
  })
end)

T.test("errors carry skynet's text; the message is freed all the same", function()
  T.raises("Invalid request session 0$", cluster.packrequest, echo, 0, skynet.pack(1))
  T.raises("name length is invalid, must be between 1 and 255 characters: $",
           cluster.packpush, "", 1, skynet.pack(1))
  T.raises("Invalid req package type 5$", cluster.unpackrequest, "\5")
  T.eq(select("#", cluster.unpackresponse("\1\0\0\0\9")), 0, "nothing for a bad response")
end)

-- Starling's own functions, which its cluster services use to copy split messages less.
T.test("the ...msg packers write every frame into one block the socket can take", function()
  local big = string.rep("b", 100000)
  for _, pack in ipairs { "packrequest", "packpush" } do
    local frames = request_frames(cluster[pack]("@echo", 11, skynet.pack(big)))
    local block, size, split, next_session = cluster[pack .. "msg"]("@echo", 11, skynet.pack(big))
    T.eq(skynet.tostring(block, size), table.concat(frames), pack)
    skynet.trash(block, size)
    T.ok(split, "a split message")
    T.eq(next_session, 12)
  end
  local block, size, split = cluster.packrequestmsg(echo, 3, "small")
  T.eq(skynet.tostring(block, size), (cluster.packrequest(echo, 3, "small")))
  skynet.trash(block, size)
  T.eq(split, false)
  for _, data in ipairs { "ok", big } do
    local response = cluster.packresponse(8, true, data)
    local frames = type(response) == "table" and response or { response }
    block, size, split = cluster.packresponsemsg(8, true, data)
    T.eq(skynet.tostring(block, size), table.concat(frames))
    skynet.trash(block, size)
    T.eq(split, #frames > 1)
  end
  T.raises("Invalid request session 0$", cluster.packrequestmsg, echo, 0, skynet.pack(1))
end)

T.test("a joiner joins parts in place, only when they make the total", function()
  local function joined(total, parts)
    local j = cluster.joiner(total)
    for _, part in ipairs(parts) do
      cluster.joinpart(j, skynet.pack(part))
    end
    local msg, sz = cluster.joined(j)
    if not msg then return nil end
    T.eq(select("#", cluster.joined(j)), 0, "taken once")
    local bytes = skynet.tostring(msg, sz)
    skynet.trash(msg, sz)
    return bytes
  end
  local one, two = skynet.packstring("one"), skynet.packstring("two")
  T.eq(joined(#one + #two, { "one", "two" }), one .. two)
  T.eq(joined(#one + #two + 1, { "one", "two" }), nil, "short of the total")
  T.eq(joined(#one, { "one", "two" }), nil, "past the total")
  T.eq(joined(0, {}), "", "an empty message")
  -- an abandoned joiner frees its block when collected; a bad call frees the part it was given
  cluster.joiner(1 << 20)
  T.raises("joiner expected", cluster.joinpart, {}, skynet.pack(1))
  T.raises("invalid size", cluster.joiner, -1)
  collectgarbage()
end)

T.start()
