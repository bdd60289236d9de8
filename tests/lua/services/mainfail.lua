-- mainfail: the main chunk raises "mainfail: boom in main chunk" before skynet.start.
local skynet = require "skynet"

error("mainfail: boom in main chunk")

skynet.start(function() end)
