-- The general snax service of tests/lua/cases/snax.lua.
local skynet = require "skynet"
local snax = require "skynet.snax"

local init_args
local store = {}
local count = 0

function init(...)
  init_args = table.pack(...)
  skynet.error("worker init", ...)
end

function exit(...)
  skynet.error("worker exit", ...)
end

function response.init_args()
  return table.unpack(init_args, 1, init_args.n)
end

function response.echo(...)
  return ...
end

function response.raise(msg)
  error(msg)
end

function accept.put(key, value)
  store[key] = value
end

function response.get(key)
  return store[key]
end

-- count is the local a hotfix shares
function response.bump()
  count = count + 1
  return count
end

function response.slow(ticks)
  skynet.sleep(ticks)
  return "slept"
end

function response.spin(ms)
  local deadline = skynet.hpc() + ms * 1000000
  while skynet.hpc() < deadline do end
  return "spun"
end

function response.self()
  return tostring(snax.self()), SERVICE_NAME, SERVICE_PATH
end

function accept.quit()
  skynet.error("worker quits")
  snax.exit("from quit")
  skynet.error("worker after snax.exit")
end
