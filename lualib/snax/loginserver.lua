-- snax.loginserver: a line-based login service (docs/LOGIN.md). The service file calls
-- this module with its configuration; the first instance becomes the master (it registers
-- ".<name>", listens and hands each connection to a slave), the `instance` copies it launches
-- of the same file become the slaves, which run the key exchange and auth_handler.

local skynet = require "skynet"
require "skynet.manager"
local socket = require "skynet.socket"
local crypt = require "skynet.crypt"

local format = string.format
local b64encode, b64decode = crypt.base64encode, crypt.base64decode

-- Raised when the connection is lost mid-exchange (logged where it happens).
local SOCKET_ERROR = setmetatable({}, { __tostring = function() return "socket error" end })

local LINE_LIMIT = 8192 -- bytes a client may leave unread in a slave

local function read_line(fd, step)
  local line = socket.readline(fd)
  if not line then
    skynet.error(format("%s failed: socket (fd = %d) closed", step, fd))
    error(SOCKET_ERROR)
  end
  return line
end

local function write(fd, text, step)
  if not socket.write(fd, text) then
    skynet.error(format("%s failed: socket (fd = %d) closed", step, fd))
    error(SOCKET_ERROR)
  end
end

---------------------------------------------------------------------------------------------
-- Slave: the exchange on one connection.

local function exchange(conf, fd, addr)
  skynet.error(format("connect from %s (fd = %d)", addr, fd))
  socket.start(fd)
  socket.limit(fd, LINE_LIMIT)
  local challenge = crypt.randomkey()
  write(fd, b64encode(challenge) .. "\n", "challenge")
  local clientkey = b64decode(read_line(fd, "key exchange"))
  if #clientkey ~= 8 then error "Invalid client key" end
  local serverkey = crypt.randomkey()
  write(fd, b64encode(crypt.dhexchange(serverkey)) .. "\n", "key exchange")
  local secret = crypt.dhsecret(clientkey, serverkey)
  local hmac = b64decode(read_line(fd, "challenge"))
  if hmac ~= crypt.hmac64(challenge, secret) then error "challenge failed" end
  local token = crypt.desdecode(secret, b64decode(read_line(fd, "auth")))
  local server, uid = conf.auth_handler(token)
  return server, uid, secret
end

local function run_slave(conf)
  skynet.dispatch("lua", function(_, _, fd, addr)
    local ok, server, uid, secret = pcall(exchange, conf, fd, addr)
    socket.abandon(fd) -- the master answers on it
    if ok then
      skynet.retpack(true, server, uid, secret)
    elseif server == SOCKET_ERROR then
      skynet.retpack(nil, "socket error")
    else
      skynet.retpack(false, server)
    end
  end)
end

---------------------------------------------------------------------------------------------
-- Master: listens, balances the connections over the slaves, runs login_handler.

local function run_master(conf)
  assert(conf.port, "loginserver: port is required")
  local slaves = {}
  for i = 1, conf.instance do
    slaves[i] = skynet.newservice(SERVICE_NAME)
  end
  local next_slave = 0
  local logging_in = {} -- uid -> true while its login_handler runs

  local function login(fd, addr, slave)
    local ok, server, uid, secret = skynet.call(slave, "lua", fd, addr)
    socket.start(fd)
    if not ok then
      if ok == false then socket.write(fd, "401 Unauthorized\n") end
      error(server, 0)
    end
    if not conf.multilogin then
      if logging_in[uid] then
        socket.write(fd, "406 Not Acceptable\n")
        error(format("User %s is already login", uid), 0)
      end
      logging_in[uid] = true
    end
    local done, subid = pcall(conf.login_handler, server, uid, secret)
    logging_in[uid] = nil
    if not done then
      socket.write(fd, "403 Forbidden\n")
      error(subid, 0)
    end
    socket.write(fd, "200 " .. b64encode(tostring(subid or "")) .. "\n")
  end

  skynet.dispatch("lua", function(_, _, cmd, ...)
    skynet.retpack(conf.command_handler(cmd, ...))
  end)

  local id = socket.listen(conf.host, conf.port)
  skynet.error(format("login server listen at : %s %d", conf.host, conf.port))
  socket.start(id, function(fd, addr)
    next_slave = next_slave % #slaves + 1
    local ok, err = pcall(login, fd, addr, slaves[next_slave])
    if not ok then
      skynet.error(format("invalid client (fd = %d) error = %s", fd, tostring(err)))
    end
    socket.close(fd)
  end)
end

return function(conf)
  local name = "." .. (conf.name or "login")
  conf.host = conf.host or "0.0.0.0"
  conf.instance = conf.instance or 8
  assert(conf.auth_handler and conf.login_handler and conf.command_handler,
    "loginserver: auth_handler, login_handler and command_handler are required")
  skynet.start(function()
    if skynet.localname(name) then
      run_slave(conf)
    else
      skynet.register(name)
      run_master(conf)
    end
  end)
end
