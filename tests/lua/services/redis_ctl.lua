-- Runs the redis fixture's control script (REDIS_CTL of tests/support/with_redis.sh) for
-- the redis cases, in a service of its own: os.execute blocks the service that calls it,
-- and the case's coroutines must keep running while a server is killed or started.
--   skynet.call(h, "lua", action, port) -> true   (action: "kill", "start", "restart")
local skynet = require "skynet"

local ctl = assert(skynet.getenv "test_redis_ctl", "no test_redis_ctl in the config")

skynet.start(function()
  skynet.dispatch("lua", function(_, _, action, port)
    assert(action:match "^%a+$" and math.tointeger(port), "bad redis_ctl request")
    local ok, how, code = os.execute(string.format("'%s' %s %d", ctl, action, port))
    if not ok then
      error(string.format("redis-ctl %s %d failed: %s %s", action, port, how, code))
    end
    skynet.retpack(true)
  end)
end)
