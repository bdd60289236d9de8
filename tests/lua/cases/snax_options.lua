-- The optional config keys snax_loader (snaxd's loader) and snax_interface_g (the global
-- table of client-side parsing).
--! snax_loader = test_src .. "/snax/loader.lua"
--! snax_interface_g = "snax_globals"
local skynet = require "skynet"
local snax = require "skynet.snax"
local T = require "testlib"

T.test("snax_interface_g: the client parses with the module's table", function()
  local t = snax.interface "toplevel"
  T.eq(t.response, { greeting = 5 })
  T.eq(require("snax_globals").string, string, "the module's table is used as is")
end)

T.test("snax_loader: snaxd loads through it; SERVICE_PATH from its pattern", function()
  local from = T.mark()
  local obj = snax.newservice "toplevel"
  T.log(T.line(obj.handle, "snax_loader toplevel"), from)
  T.eq(obj.req.greeting(), "hello world")
  snax.kill(obj)

  local h = skynet.newservice("snaxd", "virtual")
  skynet.call(h, "snax", 1)
  T.eq(table.pack(skynet.call(h, "snax", 5)), table.pack("virtual", "/virtual/virtual/"))
  skynet.call(h, "snax", 2)
  T.gone(h)
end)

T.start()
