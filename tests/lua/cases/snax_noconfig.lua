-- Snax checklist item 1 (docs/TESTING.md): without the `snax` key every snax entry point raises.
--! snax = nil
local skynet = require "skynet"
local snax = require "skynet.snax"
local T = require "testlib"

T.test("missing snax key: newservice raises please set snax in config file", function()
  T.eq(skynet.getenv "snax", nil, "the key is unset")
  T.raises("please set snax in config file", snax.newservice, "worker")
  T.raises("please set snax in config file", snax.uniqueservice, "worker")
  T.raises("please set snax in config file", snax.interface, "worker")
end)

T.test("missing snax key: snaxd fails to start", function()
  local from = T.mark()
  T.raises(".", skynet.newservice, "snaxd", "worker")
  T.log("please set snax in config file", from)
end)

T.start()
