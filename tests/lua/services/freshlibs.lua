-- freshlibs: reads the standard libraries from a new state, where they open on first use
-- (docs/LUA.md, "What a service costs"). Any lua request replies with what it saw.
local skynet = require "skynet"

local seen = {}
math.answer = 42 -- set on the library before it opened: kept beside the library's fields
seen.math_answer = math.answer
seen.math_pi = math.pi
seen.same_tables = package.loaded.string == string and require("string") == string
  and package.loaded.table == table and rawget(_G, "os") == os
seen.rep = ("ab"):rep(3) -- a string method before the string library was read
local names = {}
for name in pairs(table) do names[#names + 1] = name end -- pairs opens it too
table.sort(names)
seen.table_fields = table.concat(names, ",")
seen.utf8 = utf8.char(72, 105)
seen.os_time = math.type(os.time())
seen.io_write = type(io.write)
seen.traceback = type(debug.traceback)
seen.wrap = coroutine.wrap(function() coroutine.yield("wrapped") end)()

skynet.start(function()
  skynet.dispatch("lua", function() skynet.retpack(seen) end)
end)
