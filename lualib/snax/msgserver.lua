-- snax.msgserver: a gateserver whose clients authenticate with the secret the login server
-- handed out, then send requests tagged with a session number (docs/LOGIN.md). Answers are
-- kept per user so that a client reconnecting with a higher index gets the answers it missed.

local skynet = require "skynet"
local gateserver = require "snax.gateserver"
local netpack = require "skynet.netpack"
local socketdriver = require "skynet.socketdriver"
local crypt = require "skynet.crypt"

local format, spack, sunpack = string.format, string.pack, string.unpack
local b64encode, b64decode = crypt.base64encode, crypt.base64decode

local msgserver = {}

-- username -> { username, secret, version, fd, ip, count, retired_at, response = {} }
-- response[session] = { version, count, packet (nil while the handler runs), repeated }
local users = {}
local handshaking = {} -- fd -> address, until the first packet
local connection = {} -- fd -> user

local function send(fd, payload)
  socketdriver.send(fd, spack(">s2", payload))
end

function msgserver.username(uid, subid, servername)
  return format("%s@%s#%s", b64encode(uid), b64encode(servername), b64encode(tostring(subid)))
end

function msgserver.userid(username)
  local uid, servername, subid = username:match "^([^@]*)@([^#]*)#(.*)$"
  return b64decode(uid), b64decode(subid), b64decode(servername)
end

function msgserver.login(username, secret)
  assert(users[username] == nil, "user is already registered")
  users[username] = {
    username = username, secret = secret, version = 0, count = 0, retired_at = 0,
    response = {},
  }
end

function msgserver.logout(username)
  local u = users[username]
  users[username] = nil
  if u and u.fd then
    connection[u.fd] = nil
    gateserver.closeclient(u.fd)
  end
end

function msgserver.ip(username)
  local u = users[username]
  if u and u.fd then return u.ip end
end

function msgserver.start(conf)
  local expired_number = conf.expired_number or 128
  local request_handler = assert(conf.request_handler, "msgserver: request_handler is required")
  local CMD = {
    login = assert(conf.login_handler, "msgserver: login_handler is required"),
    logout = assert(conf.logout_handler, "msgserver: logout_handler is required"),
    kick = assert(conf.kick_handler, "msgserver: kick_handler is required"),
  }

  skynet.register_protocol { name = "client", id = skynet.PTYPE_CLIENT }

  local handler = {}

  function handler.command(cmd, _, ...)
    local f = assert(CMD[cmd], cmd)
    return f(...)
  end

  function handler.open(_, gateconf)
    local servername = assert(gateconf.servername, "msgserver: open needs a servername")
    return conf.register_handler(servername)
  end

  function handler.connect(fd, addr)
    handshaking[fd] = addr
    gateserver.openclient(fd)
  end

  function handler.disconnect(fd)
    handshaking[fd] = nil
    local u = connection[fd]
    if u then
      connection[fd] = nil
      if u.fd == fd then u.fd = nil end
      if conf.disconnect_handler then conf.disconnect_handler(u.username) end
    end
  end
  handler.error = handler.disconnect

  -- <username>:<index>:<base64(hmac)>; returns nil when accepted, else the refusal.
  local function authenticate(fd, addr, message)
    local username, index, hmac = message:match "^([^:]*):([^:]*):([^:]*)$"
    local u = users[username]
    if not u then return "404 User Not Found" end
    local version = assert(math.tointeger(tonumber(index)))
    if version <= u.version then return "403 Index Expired" end
    if b64decode(hmac) ~= crypt.hmac_hash(u.secret, username .. ":" .. index) then
      return "401 Unauthorized"
    end
    u.version, u.fd, u.ip = version, fd, addr
    connection[fd] = u
  end

  local function handshake(fd, addr, message)
    local ok, refused = pcall(authenticate, fd, addr, message)
    if not ok then
      skynet.error(refused)
      refused = "400 Bad Request"
    end
    send(fd, refused or "200 OK")
    if refused then gateserver.closeclient(fd) end
  end

  -- Drops answered entries older than expired_number requests, every 2 * expired_number.
  local function retire(u)
    if u.count - u.retired_at < 2 * expired_number then return end
    u.retired_at = u.count
    for session, p in pairs(u.response) do
      if p.packet and p.count < u.count - expired_number then u.response[session] = nil end
    end
  end

  local function request(u, message)
    if #message < 4 then error("request shorter than its session", 0) end
    local session = sunpack(">I4", message, -4)
    local p = u.response[session]
    if p then
      if p.version ~= u.version then
        -- asked before a reconnect: answer again (now, or when the handler returns)
        p.version = u.version
        if p.packet and u.fd then socketdriver.send(u.fd, p.packet) end
        return
      end
      if not p.packet then
        if p.repeated then
          skynet.error("Conflict session " .. crypt.hexencode(tostring(session)))
          error("conflict session " .. session, 0)
        end
        p.repeated = true
        return
      end
    end
    u.count = u.count + 1
    p = { version = u.version, count = u.count }
    u.response[session] = p
    local ok, result = pcall(request_handler, u.username, message:sub(1, -5))
    local payload
    if ok then
      payload = tostring(result) .. spack(">BI4", 1, session)
    else
      skynet.error(result)
      payload = spack(">BI4", 0, session)
    end
    p.packet = spack(">s2", payload)
    if u.fd then socketdriver.send(u.fd, p.packet) end
    retire(u)
  end

  function handler.message(fd, msg, sz)
    local message = netpack.tostring(msg, sz)
    local addr = handshaking[fd]
    if addr then
      handshaking[fd] = nil
      return handshake(fd, addr, message)
    end
    local u = connection[fd]
    if not u then return end -- refused or logged out: its packets are dropped
    local ok, err = pcall(request, u, message)
    if not ok then
      skynet.error(format("Invalid package %s : %s", err, message))
      if connection[fd] then
        connection[fd] = nil
        if u.fd == fd then u.fd = nil end
        gateserver.closeclient(fd)
      end
    end
  end

  return gateserver.start(handler)
end

return msgserver
