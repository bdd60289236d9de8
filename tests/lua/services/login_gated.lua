-- The message server of the login case. Requests are echoed after a short sleep ("fast..."
-- at once, "slow" after 1 s); "fail" raises, "ip" answers the client's address.
--   skynet.newservice("login_gated", loginservice)
local msgserver = require "snax.msgserver"
local skynet = require "skynet"

local loginservice = tonumber(...)
local servername
local users = {} -- uid -> { username, subid }
local subid = 0

local server = {}

function server.login_handler(uid, secret)
  assert(not users[uid], "already login")
  subid = subid + 1
  local username = msgserver.username(uid, subid, servername)
  users[uid] = { username = username, subid = subid }
  msgserver.login(username, secret)
  return subid
end

function server.logout_handler(uid)
  local u = users[uid]
  if u then
    msgserver.logout(u.username)
    users[uid] = nil
    skynet.call(loginservice, "lua", "logout", uid)
  end
end

function server.kick_handler(uid, sid)
  server.logout_handler(uid, sid)
end

function server.disconnect_handler(username)
  skynet.error("AFK " .. username)
end

function server.request_handler(username, msg)
  if msg == "fail" then error "request failed" end
  if msg == "ip" then return msgserver.ip(username) end
  if msg:sub(1, 4) ~= "fast" then skynet.sleep(msg == "slow" and 100 or 10) end
  return msg
end

function server.register_handler(name)
  servername = name
  skynet.call(loginservice, "lua", "register_gate", name, skynet.self())
end

msgserver.start(server)
