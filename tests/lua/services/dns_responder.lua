-- A DNS responder on a loopback UDP port for the dns case. It answers by the asked name:
--   a.test        A 127.0.0.1 (TTL 1 s)          multi.test   A 127.0.0.1 and 127.0.0.2
--   alias.test    CNAME target.test, then A       v6.test      AAAA ::1 (A: no records)
--   nx.test       NXDOMAIN                        wrong.test   an answer for other.test
--   silent.test   nothing                         short.test   5 bytes
--   cut.test      a record cut short              loop.test    a name pointer to itself
-- Names use compression pointers to the question (offset 12).
--   skynet.call(h, "lua", "port") -> port;  "count", name -> queries seen for name;
--   "query", name -> the last query packet for name
local skynet = require "skynet"
local socket = require "skynet.socket"

local spack, sunpack = string.pack, string.unpack

local counts = {}
local last_query = {}
local port

local QNAME = "\xc0\x0c" -- a pointer to the question's name

local function record(name, rtype, ttl, rdata)
  return name .. spack(">I2I2I4s2", rtype, 1, ttl, rdata)
end

local function answer(query, rcode, records, question)
  local id = sunpack(">I2", query)
  return spack(">I2I2I2I2I2I2", id, 0x8180 | rcode, 1, #records, 0, 0)
    .. (question or query:sub(13)) .. table.concat(records)
end

local function labels(name)
  return (name:gsub("[^.]+", function(l) return string.char(#l) .. l end):gsub("%.", "")) .. "\0"
end

local function respond(query)
  if #query < 17 then return end
  local pos, parts = 13, {}
  while query:byte(pos) ~= 0 do
    local len = query:byte(pos)
    parts[#parts + 1] = query:sub(pos + 1, pos + len)
    pos = pos + len + 1
  end
  local name = table.concat(parts, ".")
  local qtype = sunpack(">I2", query, pos + 1)
  counts[name] = (counts[name] or 0) + 1
  last_query[name] = query
  local A, AAAA = 1, 28
  if name == "a.test" and qtype == A then
    return answer(query, 0, { record(QNAME, A, 1, "\127\0\0\1") })
  elseif name == "multi.test" then
    return answer(query, 0, { record(QNAME, A, 60, "\127\0\0\1"), record(QNAME, A, 30, "\127\0\0\2") })
  elseif name == "alias.test" then
    -- target.test is written once in the CNAME data (at offset 12 + #question + 12) and
    -- pointed to by the A record.
    local question = query:sub(13)
    local target_at = 12 + #question + 12
    return answer(query, 0, {
      record(QNAME, 5, 60, labels "target.test"),
      record(spack(">I2", 0xc000 | target_at), A, 60, "\127\0\0\1"),
    })
  elseif name == "v6.test" and qtype == AAAA then
    return answer(query, 0, { record(QNAME, AAAA, 60, ("\0"):rep(15) .. "\1") })
  elseif name == "v6.test" or name == "nx.test" then
    return answer(query, 3, {})
  elseif name == "wrong.test" then
    return answer(query, 0, { record(QNAME, A, 60, "\127\0\0\9") },
      labels "other.test" .. spack(">I2I2", qtype, 1))
  elseif name == "short.test" then
    return query:sub(1, 5)
  elseif name == "cut.test" then
    return answer(query, 0, { record(QNAME, A, 60, "\127\0\0\1") }):sub(1, -3)
  elseif name == "loop.test" then
    -- the record's name starts right after the question, at offset #query, and points there
    return answer(query, 0, { record(spack(">I2", 0xc000 | #query), A, 60, "\1\2\3\4") })
  end
end

skynet.start(function()
  -- A port free for TCP now is taken for UDP (nothing else binds UDP loopback ports here).
  local lid, _, p = socket.listen("127.0.0.1", 0)
  socket.close(lid)
  port = p
  local id
  id = socket.udp(function(query, from)
    local reply = respond(query)
    if reply then socket.sendto(id, from, reply) end
  end, "127.0.0.1", port)
  skynet.dispatch("lua", function(_, _, cmd, name)
    if cmd == "port" then
      skynet.retpack(port)
    elseif cmd == "query" then
      skynet.retpack(last_query[name])
    else
      skynet.retpack(counts[name] or 0)
    end
  end)
end)
