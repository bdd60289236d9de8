-- skynet.socketchannel in session mode (desc.response given): docs/SOCKETCHANNEL.md and
-- the session items of its checklist (docs/TESTING.md). Requests "s <session> <delay> <flag> <payload>" are
-- answered after <delay> ticks by "<session> <flag> <payload>" (tests/lua/services/sc_server.lua).
local skynet = require "skynet"
local sc = require "skynet.socketchannel"
local T = require "testlib"
local H = require "sctest"

local function channel(port, extra)
  local desc = { response = H.session }
  for k, v in pairs(extra or {}) do desc[k] = v end
  return H.channel(port, desc)
end

local function req(session, delay, flag, payload)
  return string.format("s %s %d %s %s\n", session, delay, flag, payload)
end

T.test("session mode: 4 concurrent requests answered out of order, each to its caller", function()
  local port = H.listen()
  local ch = channel(port)
  ch:connect(true)
  local done = {}
  local ps = {}
  for i = 1, 4 do
    ps[i] = T.spawn(function()
      local r = ch:request(req(i, (5 - i) * 10, "+", "r" .. i), i)
      done[#done + 1] = i
      return r
    end)
  end
  for i = 1, 4 do T.eq(ps[i]:value(), "r" .. i) end
  T.eq(done, { 4, 3, 2, 1 }, "completion order follows the replies")
  T.eq(H.stats(port).accepted, 1)
  ch:close()
end)

T.test("session mode: a false reply fails only its caller; the connection stays", function()
  local port = H.listen()
  local ch = channel(port)
  local other = T.spawn(ch.request, ch, req(2, 20, "+", "fine"), 2)
  T.raises("socketchannel%.lua:%d+: nope$", ch.request, ch, req(1, 0, "-", "nope"), 1)
  T.eq(other:value(), "fine")
  T.eq(ch:request(req(3, 0, "+", "more"), 3), "more")
  T.eq(H.stats(port).accepted, 1)
  ch:close()
end)

T.test("session mode: an unknown session is logged and dropped; the connection stays", function()
  local port = H.listen()
  local ch = channel(port)
  local from = T.mark()
  ch:request(req(99, 0, "+", "nobody"))  -- no session to wait on
  T.log(T.line(skynet.self(), "socket: unknown session : 99"), from)
  T.eq(ch:request(req(1, 0, "+", "ok"), 1), "ok")
  T.eq(H.stats(port).accepted, 1)
  ch:close()
end)

T.test("session mode: the response fn raising fails every pending caller alike; reconnect", function()
  local port = H.listen()
  local ch = channel(port)
  local p1 = T.spawn(ch.request, ch, req(1, 100, "+", "late1"), 1)
  local p2 = T.spawn(ch.request, ch, req(2, 100, "+", "late2"), 2)
  H.wait_lines(port, 2)
  local p3 = T.spawn(ch.request, ch, req(3, 0, "+", "boom"), 3)
  local e = p3:err()
  T.match(e, "socketchannel%.lua:%d+: [^:]*sctest%.lua:%d+: boom$", "double prefix")
  T.eq(p1:err(), e)
  T.eq(p2:err(), e)
  T.eq(ch:request(req(4, 0, "+", "again"), 4), "again")
  T.eq(H.stats(port).accepted, 2)
  ch:close()
end)

T.test("session mode: the peer closing fails every pending caller with sc.error", function()
  local port = H.listen()
  local ch = channel(port)
  local p1 = T.spawn(ch.request, ch, req(1, 500, "+", "x"), 1)
  local p2 = T.spawn(ch.request, ch, req(2, 500, "+", "y"), 2)
  H.wait_lines(port, 2)
  H.kick(port)
  H.is_socket_error(H.raw_error(p1), "caller 1")
  H.is_socket_error(H.raw_error(p2), "caller 2")
  T.eq(ch:request(req(3, 0, "+", "z"), 3), "z")
  T.eq(H.stats(port).accepted, 2)
  ch:close()
end)

T.test("session mode: a reply without a session is fatal: every pending caller gets sc.error", function()
  local port = H.listen()
  local ch = channel(port)
  local p1 = T.spawn(ch.request, ch, req(1, 500, "+", "x"), 1)
  H.wait_lines(port, 1)
  local ok, e = pcall(ch.request, ch, req("nan", 0, "+", "y"), 2)
  T.eq(ok, false)
  H.is_socket_error(e, "the caller")
  H.is_socket_error(H.raw_error(p1), "the other caller")
  T.eventually(function() return H.stats(port).open == 0 end, nil, "connection closed")
  T.eq(ch:request(req(3, 0, "+", "z"), 3), "z")
  ch:close()
end)

T.test("session mode multi-part: parts with padding accumulate into an array", function()
  local port = H.listen()
  local ch = channel(port)
  T.eq(ch:request("parts 7 3 p\n", 7), { "p1", "p2", "p3" })
  -- the request as an array of strings; parts interleaved with another session's reply
  local other = T.spawn(ch.request, ch, req(9, 5, "+", "solo"), 9)
  T.eq(ch:request({ req(8, 0, "*", "a"), req(8, 10, "+", "b") }, 8), { "a", "b" })
  T.eq(other:value(), "solo")
  -- a failing last part discards what was collected
  T.raises("socketchannel%.lua:%d+: bad$", ch.request, ch,
    { req(10, 0, "*", "a"), req(10, 10, "-", "bad") }, 10)
  T.eq(ch:request(req(11, 0, "+", "single"), 11), "single", "no leftover parts")
  T.eq(H.stats(port).accepted, 1)
  ch:close()
end)

T.test("session mode: padding requests go out in full", function()
  local port = H.listen()
  local ch = channel(port)
  T.eq(ch:request("s 5 0 + ", 5, { "pad", "ded\n" }), "padded")
  ch:close()
end)

T.test("session mode: close() with pending callers: sc.error; then assertion failed!", function()
  local port = H.listen()
  local ch = channel(port)
  local p1 = T.spawn(ch.request, ch, req(1, 500, "+", "x"), 1)
  H.wait_lines(port, 1)
  ch:close()
  H.is_socket_error(H.raw_error(p1))
  T.raises("socketchannel%.lua:%d+: assertion failed!$", ch.request, ch, req(2, 0, "+", "y"), 2)
  T.eq(ch:connect(true), true)
  T.eq(ch:request(req(2, 0, "+", "y"), 2), "y")
  ch:close()
end)

T.test("session mode: a session already waiting is refused before anything is sent", function()
  local port = H.listen()
  local ch = channel(port)
  local p1 = T.spawn(ch.request, ch, req(1, 20, "+", "first"), 1)
  H.wait_lines(port, 1)
  T.raises("socketchannel%.lua:%d+: socketchannel: session 1 is already waiting$",
    ch.request, ch, req(1, 0, "+", "dup"), 1)
  T.eq(p1:value(), "first")
  T.eq(#H.stats(port).lines, 1)
  ch:close()
end)

T.test("session mode: auth requests use sessions too", function()
  local port = H.listen()
  local calls = 0
  local ch = channel(port, { auth = function(c)
    calls = calls + 1
    T.eq(c:request(req("100", 0, "+", "welcome"), 100), "welcome")
  end })
  T.eq(ch:request(req(1, 0, "+", "in"), 1), "in")
  T.eq(calls, 1)
  ch:close()
end)

T.test("a session-mode channel nobody holds is collected and closes its connection", function()
  local port = H.listen()
  H.collected_and_closed(port, function()
    local fd
    local ch = channel(port, { response = function(sock) fd = sock[1]; return H.session(sock) end })
    T.eq(ch:request(req(1, 0, "+", "gc"), 1), "gc")
    return ch, fd
  end)
end)

T.start()
