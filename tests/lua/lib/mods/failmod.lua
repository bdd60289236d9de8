-- A module whose body yields and then fails.
local skynet = require "skynet"

skynet.sleep(5)
error("failmod boom")
