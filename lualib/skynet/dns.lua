-- skynet.dns: an asynchronous DNS client for A and AAAA lookups over one UDP socket per
-- service, with the hosts file and a TTL cache in front of it (docs/LOGIN.md).

local skynet = require "skynet"
local socket = require "skynet.socket"

local byte, char, sub, format = string.byte, string.char, string.sub, string.format
local spack, sunpack = string.pack, string.unpack
local concat = table.concat

local dns = {}

dns.DEFAULT_HOSTS = "/etc/hosts"
dns.DEFAULT_RESOLV_CONF = "/etc/resolv.conf"

local QTYPE = { A = 1, AAAA = 28 }
local CLASS_IN = 1
local QUERY_TIMEOUT = 3000 -- ticks
local IDLE_CLOSE = 60 -- seconds a socket may stay unused
local IDLE_CHECK = 12000 -- ticks between two idle checks
local MAX_NAME = 1024
local MAX_POINTER_JUMPS = 32 -- compression pointers followed while reading one name

local server -- { ip = , port = }
local udp -- { id = , last_use = }
local waiting = {} -- query id -> { name = , qtype = , token = , answer = , err = }
local last_id = 0
local hosts -- [qtype][name] = { ips }

-- [qtype][name] = { ips = , expire = } (seconds), dropped by the collector when unused
local cache = {}
local function flush_cache()
  cache[QTYPE.A] = setmetatable({}, { __mode = "kv" })
  cache[QTYPE.AAAA] = setmetatable({}, { __mode = "kv" })
end
flush_cache()

local function now()
  return skynet.now() // 100
end

---------------------------------------------------------------------------------------------
-- Files

local function read_file(path)
  if not path then return nil end
  local f = io.open(path, "r")
  if not f then return nil end
  local text = f:read "a"
  f:close()
  return text
end

local function load_hosts()
  hosts = { [QTYPE.A] = {}, [QTYPE.AAAA] = {} }
  local text = read_file(dns.DEFAULT_HOSTS)
  if not text then return end
  for line in text:gmatch "[^\n]+" do
    line = line:gsub("#.*", "")
    local ip, names = line:match "^%s*(%S+)%s+(.+)$"
    if ip then
      local family = ip:find(":", 1, true) and hosts[QTYPE.AAAA] or hosts[QTYPE.A]
      for name in names:gmatch "%S+" do
        name = name:lower()
        local list = family[name]
        if not list then
          list = {}
          family[name] = list
        end
        list[#list + 1] = ip
      end
    end
  end
end

local function server_from_resolv_conf()
  local text = read_file(dns.DEFAULT_RESOLV_CONF)
  if text then
    for line in text:gmatch "[^\n]+" do
      local ip = line:match "^%s*nameserver%s+([^%s#]+)"
      if ip then return { ip = ip, port = 53 } end
    end
  end
end

---------------------------------------------------------------------------------------------
-- Packets

local function encode_query(id, name, qtype)
  local labels = {}
  for label in name:gmatch "[^.]+" do
    labels[#labels + 1] = char(#label) .. label
  end
  return spack(">I2I2I2I2I2I2", id, 0x0100, 1, 0, 0, 0) .. concat(labels) .. "\0"
    .. spack(">I2I2", qtype, CLASS_IN)
end

local function malformed(what)
  error("malformed dns answer: " .. what, 0)
end

-- Reads the (possibly compressed) name at pos; returns it and the position after it in the
-- record (after the first pointer when there is one).
local function read_name(packet, pos)
  local labels, after, jumps = {}, nil, 0
  local total = 0
  while true do
    local len = byte(packet, pos)
    if len == nil then malformed "name runs past the end" end
    if len >= 0xc0 then
      local lo = byte(packet, pos + 1)
      if lo == nil then malformed "truncated name pointer" end
      jumps = jumps + 1
      if jumps > MAX_POINTER_JUMPS then malformed "name pointer loop" end
      after = after or pos + 2
      pos = ((len & 0x3f) << 8 | lo) + 1
    elseif len >= 0x40 then
      malformed "bad label length"
    elseif len == 0 then
      return concat(labels, "."), after or pos + 1
    else
      local label = sub(packet, pos + 1, pos + len)
      if #label ~= len then malformed "label runs past the end" end
      total = total + len + 1
      if total > MAX_NAME then malformed "name too long" end
      labels[#labels + 1] = label:lower()
      pos = pos + len + 1
    end
  end
end

local function need(packet, pos, n, what)
  if pos + n - 1 > #packet then malformed(what .. " runs past the end") end
end

local function format_address(rtype, rdata)
  if rtype == QTYPE.A then
    return format("%d.%d.%d.%d", byte(rdata, 1, 4))
  end
  return format("%x:%x:%x:%x:%x:%x:%x:%x", sunpack(">I2I2I2I2I2I2I2I2", rdata))
end

-- Decodes an answer packet after its id: question name, type, the addresses of that type and
-- the smallest TTL among them.
local function decode_answer(packet)
  local qdcount, ancount = sunpack(">I2I2", packet, 5)
  if qdcount ~= 1 then malformed(format("%d questions", qdcount)) end
  local qname, pos = read_name(packet, 13)
  need(packet, pos, 4, "question")
  local qtype = sunpack(">I2", packet, pos)
  pos = pos + 4
  local ips, ttl = {}, nil
  for _ = 1, ancount do
    local _, rpos = read_name(packet, pos)
    need(packet, rpos, 10, "record header")
    local rtype, rclass, rttl, rdlen = sunpack(">I2I2I4I2", packet, rpos)
    pos = rpos + 10
    need(packet, pos, rdlen, "record data")
    if rclass == CLASS_IN and rtype == qtype
      and ((rtype == QTYPE.A and rdlen == 4) or (rtype == QTYPE.AAAA and rdlen == 16)) then
      ips[#ips + 1] = format_address(rtype, sub(packet, pos, pos + rdlen - 1))
      if ttl == nil or rttl < ttl then ttl = rttl end
    end
    pos = pos + rdlen
  end
  return qname, qtype, ips, ttl
end

---------------------------------------------------------------------------------------------
-- The socket

local function wake(req, answer, err)
  req.answered, req.answer, req.err = true, answer, err
  skynet.wakeup(req.token)
end

local function on_packet(packet)
  if #packet < 12 then
    skynet.error "Recv an invalid package when dns query"
    return
  end
  local id = sunpack(">I2", packet)
  local req = waiting[id]
  local ok, qname, qtype, ips, ttl = pcall(decode_answer, packet)
  if not ok then
    skynet.error(format("Recv an invalid package when dns query: %s", qname))
    if req then wake(req, nil, qname) end
    return
  end
  local answer
  if #ips > 0 and cache[qtype] then
    answer = { ips = ips, expire = now() + ttl }
    cache[qtype][qname] = answer
  end
  if not req then return end
  if req.name ~= qname or req.qtype ~= qtype then
    skynet.error "Recv an invalid name when dns query"
    answer = nil
  end
  wake(req, answer)
end

local function close_socket()
  if udp then
    skynet.error(format("Udp server close %s:%d (%d)", server.ip, server.port, udp.id))
    socket.close(udp.id)
    udp = nil
  end
end

local function idle_check(sock)
  while udp == sock do
    skynet.sleep(IDLE_CHECK)
    if udp == sock and next(waiting) == nil and now() - sock.last_use >= IDLE_CLOSE then
      close_socket()
    end
  end
end

local function open_socket()
  if not server then server = server_from_resolv_conf() end
  assert(server, "Call dns.server first")
  local id = socket.udp(function(packet) on_packet(packet) end)
  socket.udp_connect(id, server.ip, server.port)
  skynet.error(format("Udp server open %s:%d (%d)", server.ip, server.port, id))
  udp = { id = id, last_use = now() }
  skynet.fork(idle_check, udp)
end

local function new_id()
  for _ = 1, 65535 do
    last_id = last_id % 65535 + 1
    if not waiting[last_id] then return last_id end
  end
  error "too many dns queries in flight"
end

local function query(name, qtype)
  if not udp then open_socket() end
  local id = new_id()
  local req = { name = name, qtype = qtype, token = {} }
  waiting[id] = req
  udp.last_use = now()
  socket.write(udp.id, encode_query(id, name, qtype))
  skynet.sleep(QUERY_TIMEOUT, req.token)
  waiting[id] = nil
  if not req.answered then
    skynet.error(format("DNS query %s timeout", name))
  end
  if req.err then error(req.err) end
  if req.answer == nil then error "timeout or no answer" end
  return req.answer.ips
end

---------------------------------------------------------------------------------------------
-- API

function dns.server(ip, port)
  if ip == nil then
    server = nil
  else
    server = { ip = ip, port = port or 53 }
  end
  close_socket()
end

function dns.flush()
  flush_cache()
end

local function valid_name(name)
  if #name > MAX_NAME or name:find "[^_a-z0-9.-]" then return false end
  for label in name:gmatch "[^.]+" do
    if #label > 63 then return false end
  end
  return true
end

function dns.resolve(name, ipv6)
  name = name:lower()
  if name:find "^[%d.]+$" or name:find(":", 1, true) then
    return name
  end
  if not valid_name(name) then
    return nil, "illegal name"
  end
  local qtype = ipv6 and QTYPE.AAAA or QTYPE.A
  if not hosts then load_hosts() end
  local listed = hosts[qtype][name]
  if listed then return listed[1], listed end
  local cached = cache[qtype][name]
  if cached and cached.expire > now() then
    return cached.ips[1], cached.ips
  end
  local ips = query(name, qtype)
  return ips[1], ips
end

return dns
