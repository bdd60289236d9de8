-- nodispatch: starts without a dispatch function for any protocol.
local skynet = require "skynet"

skynet.start(function() end)
