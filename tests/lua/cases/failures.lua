-- Failures that say why (docs/LUA_SERVICES.md): a listen that fails names the address and the
-- system error (skynet says only "Listen error"); a module whose file exists but cannot be
-- opened names the file and the system error (Lua's searcher says "no file", which is what
-- running out of file descriptors looked like).
local skynet = require "skynet"
local socket = require "skynet.socket"
local T = require "testlib"

T.test("listen on a port in use: Listen error: <address>:<port>: Address already in use", function()
  local first, _, port = socket.listen("127.0.0.1", 0)
  local err = T.raises("Listen error", socket.listen, "127.0.0.1", port)
  T.match(err, "Listen error: 127%.0%.0%.1:" .. port .. ": Address already in use$")
  socket.close(first)
end)

T.test("listen on an address of no interface here: the system's reason", function()
  -- 192.0.2.0/24 is reserved for documentation: never a local address.
  local err = T.raises("Listen error", socket.listen, "192.0.2.1", 7)
  T.match(err, "Listen error: 192%.0%.2%.1:7: Cannot assign requested address$")
end)

T.test("require of a module that cannot be opened names the file and the system error", function()
  local dir = T.getenv "test_tmp"
  local file = dir .. "/loopmod.lua"
  T.ok(os.execute("ln -s loopmod.lua '" .. file .. "'"), "a symbolic link to itself")
  local saved = package.path
  package.path = dir .. "/?.lua;" .. saved
  local ok, err = pcall(require, "loopmod")
  package.path = saved
  T.eq(ok, false)
  T.match(err, "module 'loopmod' not found:")
  T.match(err, "cannot open '" .. T.esc(file) .. "': Too many levels of symbolic links")
end)

T.test("require of a module that does not exist is unchanged: no extra line", function()
  local ok, err = pcall(require, "no_such_module_anywhere")
  T.eq(ok, false)
  T.ok(not err:find("cannot open", 1, true), err)
end)

T.start()
