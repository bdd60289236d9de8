-- A ping server in the manner of skynet's snax example: ping (5), sleep (6), hello (7),
-- exit (8), error (9); its requests share one critical section.
local skynet = require "skynet"
local queue = require "skynet.queue"
local snax = require "skynet.snax"

local i = 0
local hello = "hello"
local lock

function response.ping(msg)
  skynet.sleep(10)
  return msg
end

-- Holds the lock for n ticks when asked to (the queue scenario).
function accept.sleep(queued, n)
  if queued then
    lock(function()
      skynet.error("sleep begin", n)
      skynet.sleep(n)
      skynet.error("sleep end", n)
    end)
  else
    skynet.sleep(n)
  end
end

function accept.hello()
  lock(function()
    i = i + 1
    skynet.error(i, hello)
  end)
end

function accept.exit(...)
  snax.exit(...)
end

function response.error()
  error("throw an error")
end

function init(...)
  skynet.error("ping server start:", ...)
  snax.enablecluster()
  lock = queue()
end

function exit(...)
  skynet.error("ping server exit:", ...)
end
