-- nostart: never calls skynet.start (newservice never returns).
local skynet = require "skynet"

skynet.error("nostart: main chunk ran")
