-- skynet.dns against a loopback responder of its own (tests/lua/services/dns_responder.lua):
-- literals, names, the hosts file, the cache and its TTL, CNAME chains with compression,
-- AAAA, NXDOMAIN, silence, wrong and malformed answers. Nothing leaves the machine.
local skynet = require "skynet"
local dns = require "skynet.dns"
local T = require "testlib"

local responder

local function count(name)
  return skynet.call(responder, "lua", "count", name)
end

T.test("the hosts file answers first, case-insensitively", function()
  -- (parsed once per service, at the first lookup of a name)
  local path = skynet.getenv "test_tmp" .. "/hosts"
  local f = assert(io.open(path, "w"))
  f:write "# comment\n127.0.0.1 localhost\n10.9.9.9 Listed.Test other.test # trailing\n::1 localhost\n"
  f:close()
  dns.DEFAULT_HOSTS = path
  T.eq({ dns.resolve "LOCALHOST" }, { "127.0.0.1", { "127.0.0.1" } })
  T.eq({ dns.resolve "listed.test" }, { "10.9.9.9", { "10.9.9.9" } })
  T.eq({ dns.resolve("localhost", true) }, { "::1", { "::1" } })
end)

T.test("without a server: literals need none, a name asserts", function()
  dns.DEFAULT_RESOLV_CONF = nil
  T.eq(table.pack(dns.resolve "10.1.2.3"), table.pack("10.1.2.3"))
  T.eq(table.pack(dns.resolve("10.1.2.3", true)), table.pack("10.1.2.3"))
  T.eq(table.pack(dns.resolve "::1"), table.pack("::1"))
  T.eq(table.pack(dns.resolve "bad_name!"), table.pack(nil, "illegal name"))
  T.eq(table.pack(dns.resolve(("x"):rep(64) .. ".test")), table.pack(nil, "illegal name"))
  T.raises("Call dns.server first", dns.resolve, "a.test")
end)

T.test("a query: the packet, the open log line, one answer, several answers", function()
  responder = skynet.newservice "dns_responder"
  local port = skynet.call(responder, "lua", "port")
  dns.server("127.0.0.1", port)
  local from = T.mark()
  T.eq({ dns.resolve "A.test" }, { "127.0.0.1", { "127.0.0.1" } })
  T.log("Udp server open 127%.0%.0%.1:" .. port .. " %(%d+%)$", from)
  local query = skynet.call(responder, "lua", "query", "a.test")
  T.eq(query, (string.gsub("000101000001000000000000016104746573740000010001", "%x%x",
    function(h) return string.char(tonumber(h, 16)) end)), "id 1, RD, one question, a.test A IN")
  T.eq({ dns.resolve "multi.test" }, { "127.0.0.1", { "127.0.0.1", "127.0.0.2" } })
end)

T.test("the cache holds an answer for its TTL, flush empties it", function()
  T.eq(count "multi.test", 1)
  dns.resolve "multi.test"
  T.eq(count "multi.test", 1, "cached")
  dns.flush()
  dns.resolve "multi.test"
  T.eq(count "multi.test", 2, "asked again after flush")
  local before = count "a.test"
  skynet.sleep(210) -- a.test has a TTL of 1 s
  T.eq({ dns.resolve "a.test" }, { "127.0.0.1", { "127.0.0.1" } })
  T.eq(count "a.test", before + 1, "asked again after the TTL")
end, 1500)

T.test("CNAME then A through compression pointers; AAAA in eight groups", function()
  T.eq({ dns.resolve "alias.test" }, { "127.0.0.1", { "127.0.0.1" } })
  T.eq({ dns.resolve("v6.test", true) }, { "0:0:0:0:0:0:0:1", { "0:0:0:0:0:0:0:1" } })
end)

T.test("NXDOMAIN and an A question without A records fail at once", function()
  T.raises("timeout or no answer$", dns.resolve, "nx.test")
  T.raises("timeout or no answer$", dns.resolve, "v6.test")
end, 500)

T.test("an answer for another name fails the waiter with a log line", function()
  local from = T.mark()
  T.raises("timeout or no answer$", dns.resolve, "wrong.test")
  T.log("Recv an invalid name when dns query$", from)
end, 500)

T.test("malformed answers: a clear error at once, the client keeps working", function()
  local from = T.mark()
  T.raises("malformed dns answer: record data runs past the end$", dns.resolve, "cut.test")
  T.raises("malformed dns answer: name pointer loop$", dns.resolve, "loop.test")
  T.log("Recv an invalid package when dns query: malformed dns answer: name pointer loop$", from)
  T.eq({ dns.resolve "alias.test" }, { "127.0.0.1", { "127.0.0.1" } })
end, 500)

T.test("a short packet is logged; silence times out after 30 s", function()
  local from = T.mark()
  local p = T.spawn(dns.resolve, "short.test")
  T.log("Recv an invalid package when dns query$", from)
  T.ok(not p.done, "still waiting")
  T.raises("timeout or no answer$", dns.resolve, "silent.test")
  T.log("DNS query silent.test timeout$", from)
  T.match(tostring(p:wait(1000)[2]), "timeout or no answer$")
  T.eq({ dns.resolve "alias.test" }, { "127.0.0.1", { "127.0.0.1" } }, "still working")
end, 5000)

T.start()
