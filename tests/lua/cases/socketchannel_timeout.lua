-- skynet.socketchannel past skynet: the opt-in request deadline (desc.timeout, centiseconds)
-- and "no caller waits forever when the connection closes" (docs/SOCKETCHANNEL.md).
local skynet = require "skynet"
local sc = require "skynet.socketchannel"
local T = require "testlib"
local H = require "sctest"

local HOST = "127.0.0.1"
local TIMEOUT = "socketchannel: timeout"

local channel = H.channel

T.test("timeout must be a positive number", function()
  T.raises("timeout must be a positive number", sc.channel, { host = HOST, port = 1, timeout = 0 })
  T.raises("timeout must be a positive number", sc.channel, { host = HOST, port = 1, timeout = "1" })
end)

T.test("no timeout (the default): a request waits as long as the reply takes", function()
  local port = H.listen()
  local ch = channel(port)
  T.eq(ch:request("sleep 50 slow\n", H.line), "slow")
  ch:close()
end)

T.test("order mode timeout: that caller gets the timeout, the others sc.error; reconnect", function()
  local port = H.listen()
  local ch = channel(port, { timeout = 20 })
  ch:connect(true)
  local started = skynet.now()
  local a = T.spawn(ch.request, ch, "silent\n", H.line)
  local b = T.spawn(ch.request, ch, "sleep 300 b\n", H.line)
  T.eq(H.raw_error(a), TIMEOUT, "the exact error string")
  T.ok(skynet.now() - started >= 20, "not before the deadline")
  H.is_socket_error(H.raw_error(b), "the caller behind")
  T.eventually(function() return H.stats(port).open == 0 end, nil, "connection closed")
  T.eq(ch:request("echo next\n", H.line), "next")
  T.eq(H.stats(port).accepted, 2)
  ch:close()
end)

T.test("order mode timeout of a queued caller: the one being served gets sc.error", function()
  local port = H.listen()
  local ch = channel(port, { timeout = 20 })
  ch:connect(true)
  local served = T.spawn(ch.response, ch, H.line) -- response() has no deadline
  local queued = T.spawn(ch.request, ch, "silent\n", H.line)
  T.eq(H.raw_error(queued), TIMEOUT)
  H.is_socket_error(H.raw_error(served), "response()")
  T.eq(ch:request("echo next\n", H.line), "next")
  ch:close()
end)

T.test("session mode timeout: only that session is abandoned; its late reply is dropped", function()
  local port = H.listen()
  local ch = channel(port, { timeout = 20, response = H.session })
  local from = T.mark()
  local a = T.spawn(ch.request, ch, "s 1 100 + late\n", 1)
  local b = T.spawn(ch.request, ch, "s 2 5 + quick\n", 2)
  T.eq(b:value(), "quick")
  T.eq(H.raw_error(a), TIMEOUT)
  T.log(T.line(skynet.self(), "socket: unknown session : 1"), from)
  T.eq(ch:request("s 3 0 + after\n", 3), "after")
  T.eq(H.stats(port).accepted, 1, "the connection stays")
  -- a multi-part reply cut by the deadline leaves nothing behind for the next request
  local ok, e = pcall(ch.request, ch, { "s 4 0 * part\n", "s 4 100 + rest\n" }, 4)
  T.eq({ ok, e }, { false, TIMEOUT })
  T.eq(ch:request("s 5 0 + single\n", 5), "single")
  T.log(T.line(skynet.self(), "socket: unknown session : 4"), from)
  ch:close()
end)

T.test("a request inside auth times out: auth failed is logged, connect fails", function()
  local port = H.listen()
  local ch = channel(port, { timeout = 20, auth = function(c) c:request("silent\n", H.line) end })
  local from = T.mark()
  local ok, e = pcall(ch.connect, ch, true)
  T.eq(ok, false)
  H.is_socket_error(e)
  T.eq(H.my_lines(from, "^socket: auth failed"), { "socket: auth failed " .. TIMEOUT })
  ch:close()
end)

T.test("close() during auth: the connecting call and the requests waiting for it return", function()
  local port = H.listen()
  local ch = channel(port, { auth = function(c) c:request("silent\n", H.line) end })
  local connecting = T.spawn(ch.connect, ch, true)
  H.wait_lines(port, 1)
  local waiting = T.spawn(ch.request, ch, "echo x\n", H.line)
  skynet.sleep(5)
  T.eq(waiting.done, false)
  ch:close()
  T.eq(connecting:value(), false, "connect(true) returns false: the channel is closed")
  T.match(waiting:err(), "socketchannel%.lua:%d+: assertion failed!$")
  T.eq(H.stats(port).lines, { "silent" }, "nothing else was sent")
end)

T.test("changehost during auth: auth returns, the pass restarts on the new host", function()
  local a = H.listen()
  local b = H.listen()
  local ch
  ch = channel(a, { auth = function(c)
    if c.__port == a then
      skynet.fork(function() ch:changehost(HOST, b) end)
      local ok, e = pcall(c.request, c, "silent\n", H.line)
      T.ok(not ok and rawequal(e, sc.error), "auth's request fails when the socket goes")
    end
  end })
  local from = T.mark()
  local waiting = T.spawn(ch.request, ch, "echo there\n", H.line)
  T.eq(waiting:value(), "there")
  T.eq(ch.__port, b)
  T.eq(#H.my_lines(from, "^socket: auth failed"), 0)
  T.eq(H.stats(b).accepted, 1)
  ch:close()
end)

T.start()
