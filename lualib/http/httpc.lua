-- HTTP/1.1 client: one connection per request, http and https (through http.tlshelper).
local skynet = require "skynet"
local socket = require "http.sockethelper"
local internal = require "http.internal"

local M = {}

local dns -- skynet.dns once M.dns() was called
local tls_ctx -- one client context per service, made on the first https request

function M.dns(server, port)
  dns = require "skynet.dns"
  dns.server(server, port)
end

-- "[scheme://]host[:port]" -> scheme, hostname, port, the Host header value
local function parse_host(host)
  local scheme, rest = host:match("^(%a[%w+.-]*)://(.*)$")
  scheme = scheme and scheme:lower() or "http"
  rest = rest or host
  if scheme ~= "http" and scheme ~= "https" then
    error("Invalid protocol: " .. scheme)
  end
  local hostname, port
  if rest:find("[", 1, true) then
    hostname, port = rest:match("^%[([^%]]+)%]:?(%d*)$")
    if not hostname then error("Invalid host: " .. rest) end
  else
    local _, colons = rest:gsub(":", "")
    if colons > 1 then
      error(string.format("Invalid host: bare IPv6 address '%s', use '[%s]' instead", rest, rest))
    end
    hostname, port = rest:match("^([^:]*):?(%d*)$")
    if not hostname then error("Invalid host: " .. rest) end
  end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  return scheme, hostname, port, rest
end

local function resolve(hostname)
  if dns and not hostname:match("^[%d%.]+$") and not hostname:find(":", 1, true) then
    local ip, msg = dns.resolve(hostname)
    if not ip then error(string.format("%s dns resolve failed msg:%s", hostname, msg)) end
    return ip
  end
  return hostname
end

local function plain_interface(fd)
  return {
    read = socket.readfunc(fd),
    write = socket.writefunc(fd),
    readall = function() return socket.readall(fd) end,
    close = function() socket.close(fd) end,
  }
end

local function tls_interface(fd, hostname)
  local tlshelper = require "http.tlshelper"
  tls_ctx = tls_ctx or tlshelper.newctx()
  local is_name = not hostname:match("^[%d%.]+$") and not hostname:find(":", 1, true)
  local tls = tlshelper.newtls("client", tls_ctx, is_name and hostname or nil)
  local init = tlshelper.init_requestfunc(fd, tls)
  init(is_name and hostname or nil)
  return {
    read = tlshelper.readfunc(fd, tls),
    write = tlshelper.writefunc(fd, tls),
    readall = tlshelper.readallfunc(fd, tls),
    close = function()
      tls:close()
      socket.close(fd)
    end,
  }
end

local function open(host, timeout)
  local scheme, hostname, port, hostheader = parse_host(host)
  local fd = socket.connect(resolve(hostname), port, timeout)
  local ok, interface = pcall(scheme == "https" and tls_interface or plain_interface, fd,
    hostname)
  if not ok then
    socket.close(fd)
    error(interface, 0)
  end
  return fd, interface, hostheader
end

-- With httpc.timeout, the socket is shut down if the request has not finished in time.
local function arm_timeout(fd, timeout)
  if not timeout then return function() end end
  local done = false
  skynet.timeout(timeout, function()
    if not done then socket.shutdown(fd) end
  end)
  return function() done = true end
end

function M.request(method, host, url, recvheader, header, content)
  local timeout = M.timeout
  local fd, interface, hostheader = open(host, timeout)
  local disarm = arm_timeout(fd, timeout)
  local ok, code, body = pcall(internal.request, interface, method, hostheader, url,
    recvheader, header, content)
  disarm()
  interface.close()
  if not ok then error(code, 0) end
  return code, body
end

function M.head(host, url, recvheader, header, content)
  local s = M.request_stream("HEAD", host, url, recvheader, header, content)
  local code = s.status
  s:close()
  return code
end

function M.request_stream(method, host, url, recvheader, header, content)
  local fd, interface, hostheader = open(host, M.timeout)
  local ok, s = pcall(internal.request_stream, interface, method, hostheader, url, recvheader,
    header, content, function() interface.close() end)
  if not ok then
    interface.close()
    error(s, 0)
  end
  s.fd = fd
  return s
end

function M.get(...)
  return M.request("GET", ...)
end

local function escape(s)
  return (s:gsub("[^%w_]", function(c) return string.format("%%%02X", c:byte()) end))
end

function M.post(host, url, form, recvheader)
  local header = { ["content-type"] = "application/x-www-form-urlencoded" }
  local body = {}
  for k, v in pairs(form) do
    body[#body + 1] = escape(tostring(k)) .. "=" .. escape(tostring(v))
  end
  return M.request("POST", host, url, recvheader, header, table.concat(body, "&"))
end

return M
