-- The login server of the login case: tokens are base64(user)@base64(server):base64(password)
-- with the password "password"; a user logging in again kicks its previous session.
--   skynet.newservice("login_logind", port)
local login = require "snax.loginserver"
local crypt = require "skynet.crypt"
local skynet = require "skynet"

local gates = {} -- server name -> gate
local online = {} -- uid -> { gate, subid }

local conf = {
  host = "127.0.0.1",
  port = tonumber((...)), -- nil in the slaves
  instance = 2,
  name = "test_login",
}

function conf.auth_handler(token)
  local user, server, password = token:match "^([^@]+)@([^:]+):(.+)$"
  assert(user, "Bad token")
  assert(crypt.base64decode(password) == "password", "Invalid password")
  return crypt.base64decode(server), crypt.base64decode(user)
end

function conf.login_handler(server, uid, secret)
  local gate = assert(gates[server], "Unknown server")
  local last = online[uid]
  if last then skynet.call(last.gate, "lua", "kick", uid, last.subid) end
  if uid == "slow" then skynet.sleep(100) end
  local subid = skynet.call(gate, "lua", "login", uid, secret)
  online[uid] = { gate = gate, subid = subid }
  return subid
end

local CMD = {}
function CMD.register_gate(server, gate) gates[server] = gate end
function CMD.logout(uid) online[uid] = nil end

function conf.command_handler(cmd, ...)
  return assert(CMD[cmd], cmd)(...)
end

login(conf)
