-- The debug_console command layer, reached in-process through its lua "line" command, and
-- its TCP side (lines, HTTP GET and POST). docs/TESTING.md: Lua API checklist item 32. The
-- case is named neither debug_console nor console: the node's start service of either name
-- would be that service itself.
local skynet = require "skynet"
local socket = require "skynet.socket"
local T = require "testlib"

local console, echo

-- The output lines of one console input.
local function run(text, body)
  local out = skynet.call(console, "lua", "line", text, body)
  local lines = {}
  if out ~= "" then
    for line in (out .. "\n"):gmatch "(.-)\n" do
      lines[#lines + 1] = line
    end
  end
  return lines
end

local function ok_lines(text, body)
  local lines = run(text, body)
  T.eq(lines[#lines], "<CMD OK>", text)
  return lines
end

-- The line matching pattern (exactly one).
local function find_line(lines, pattern)
  local found
  for _, line in ipairs(lines) do
    if line:find(pattern) then
      if found then T.fail("two lines match " .. T.repr(pattern)) end
      found = line
    end
  end
  return found or T.fail("no line matches " .. T.repr(pattern) .. " in " .. T.repr(lines))
end

local function hex(h)
  return string.format("%x", h)
end

T.test("setup: a console and an echo service", function()
  console = skynet.newservice("debug_console")
  echo = skynet.newservice("echo")
end)

T.test("unknown command: the invalid command line, an empty line, <CMD Error>", function()
  T.eq(run("nosuchcmd a b"), { "Invalid command, type help for command list", "", "<CMD Error>" })
end)

T.test("a blank line prints nothing", function()
  T.eq(run(""), {})
  T.eq(run("  \t "), {})
end)

T.test("help: one sorted command<TAB>description line per command", function()
  local lines = ok_lines("help")
  local names = {}
  for i = 1, #lines - 1 do
    names[#names + 1] = T.match(lines[i], "^%l+\t.+$", "help line"):match "^(%l+)"
  end
  local sorted = table.move(names, 1, #names, 1, {})
  table.sort(sorted)
  T.eq(names, sorted, "sorted")
  local have = {}
  for _, name in ipairs(names) do have[name] = true end
  for name in ("help list stat mem gc start log snax service kill exit info task uniqtask killtask "
      .. "dbgcmd ping inject call trace logon logoff signal getenv setenv debug netstat cmem "
      .. "jmem dumpheap profactive clearcache"):gmatch "%S+" do
    T.ok(have[name], "help lists " .. name)
  end
end)

T.test("list: launcher LIST, one sorted address<TAB>name line per service", function()
  local lines = ok_lines("list")
  find_line(lines, "^" .. T.hex(echo) .. "\tsnlua echo$")
  find_line(lines, "^" .. T.hex(console) .. "\tsnlua debug_console$")
  local entries = table.move(lines, 1, #lines - 1, 1, {})
  local sorted = table.move(entries, 1, #entries, 1, {})
  table.sort(sorted)
  T.eq(entries, sorted, "sorted by address")
end)

T.test("mem: launcher MEM per service; mem 0 means no timeout", function()
  for _, cmd in ipairs { "mem", "mem 0", "mem 500" } do
    find_line(ok_lines(cmd), "^" .. T.hex(echo) .. "\t%d+%.%d%d Kb %(snlua echo%)$")
  end
end)

T.test("stat: launcher STAT, table values as sorted k:v pairs joined by tabs", function()
  for _, cmd in ipairs { "stat", "stat 200", "stat -1" } do
    find_line(ok_lines(cmd),
      "^" .. T.hex(echo) .. "\tcpu:[%d.e+-]+\tmessage:%d+\tmqlen:%d+\ttask:%d+$")
  end
  T.eq(run("stat soon"), { "Not a valid timeout soon", "<CMD Error>" })
end)

T.test("gc: collects everywhere, then mem", function()
  local from = T.mark()
  find_line(ok_lines("gc"), "^" .. T.hex(echo) .. "\t%d+%.%d%d Kb %(snlua echo%)$")
  T.log("^%[" .. T.hex(echo) .. "%] GC [%d.]+ Kb %-> [%d.]+ Kb, cost", from)
end)

T.test("start: the new service by address, Exit, Failed", function()
  local lines = ok_lines("start echo a b")
  T.eq(#lines, 2)
  local addr = T.match(lines[1], "^:%x+\techo$"):match "^(:%x+)"
  T.eq(table.pack(skynet.call(addr, "lua", "args")), table.pack("a", "b"), "launch arguments")
  T.eq(run("start startexit"), { "Exit", "<CMD OK>" })
  T.eq(run("start startfail"), { "Failed", "<CMD OK>" })
end)

T.test("snax: a snax service by address, Failed for an unknown one", function()
  local lines = ok_lines("snax pingserver")
  T.eq(#lines, 2)
  T.match(lines[1], "^:%x+\tpingserver$")
  T.eq(run("snax nosuchsnax"), { "Failed", "<CMD OK>" })
end)

T.test("log: LOGLAUNCH, printed like start", function()
  local lines = ok_lines("log echo x")
  T.match(lines[1], "^:%x+\techo$")
  T.eq(#lines, 2)
end)

T.test("kill: launcher KILL with a plain hex address", function()
  local h = skynet.newservice("echo")
  T.eq(run("kill " .. hex(h)), { T.hex(h) .. "\tsnlua echo", "<CMD OK>" })
  T.gone(h)
  T.ok(not ok_lines("list")[1]:find(T.hex(h), 1, true), "no longer listed")
end)

T.test("addresses: :hex, plain hex on the local harbor, .name; errors", function()
  for _, addr in ipairs { T.hex(echo), hex(echo), string.upper(hex(echo)), "000" .. hex(echo),
      ".launcher" } do
    local lines = ok_lines("ping " .. addr)
    T.eq(#lines, 2, addr)
    T.match(lines[1], "^%d+$", "elapsed ticks for " .. addr)
  end
  T.eq(run("ping .nonexist"), { "Not a valid name", "<CMD Error>" })
  T.eq(run("ping"), { "Need an address", "<CMD Error>" })
  T.eq(run("ping xyz"), { "Not a valid address xyz", "<CMD Error>" })
  T.eq(run("ping :xyz"), { "Not a valid address :xyz", "<CMD Error>" })
end)

T.test("ping of a dead service: the call error, <CMD Error>", function()
  local lines = run("ping " .. T.hex(T.INVALID))
  T.eq(#lines, 2)
  T.match(lines[1], "call to invalid address")
  T.eq(lines[2], "<CMD Error>")
end)

T.test("call: expressions in an empty environment, the packed results", function()
  T.eq(run("call " .. T.hex(echo) .. ' "echo", 1, nil, 3'),
    { "1\t1", "3\t3", "n\t3", "<CMD OK>" })
  T.eq(run("call " .. hex(echo) .. ' "echo", {b="x", a=1}, string == nil'),
    { "1\ta:1\tb:x", "2\ttrue", "n\t2", "<CMD OK>" })
  local lines = run("call " .. T.hex(echo) .. ' "raise", "boom"')
  T.eq(#lines, 2)
  T.match(lines[1], "call failed$")
  T.eq(lines[2], "<CMD Error>")
  lines = run("call " .. T.hex(echo) .. " 1 +")
  T.eq(#lines, 2)
  T.eq(lines[2], "<CMD Error>")
  lines = run("call " .. T.hex(echo) .. " print('x')")
  T.eq(lines, { "(console):1: attempt to call a nil value (global 'print')", "<CMD Error>" },
    "the environment is empty")
end)

T.test("getenv / setenv", function()
  T.eq(run("getenv console_test_key"), { "<CMD OK>" }, "unset")
  T.eq(run("setenv console_test_key hello"), { "<CMD OK>" })
  T.eq(run("getenv console_test_key"), { "hello", "<CMD OK>" })
  T.eq(skynet.getenv "console_test_key", "hello", "seen by other services")
  local lines = run("setenv console_test_key again")
  T.eq(#lines, 2, "setenv of an existing key")
  T.eq(lines[2], "<CMD Error>")
  T.eq(run("setenv lonely"), { "Need a name and a value", "<CMD Error>" })
end)

T.test("HTTP: GET /cmd/a/b runs cmd a b; POST runs the body", function()
  T.eq(run("GET /getenv/console_test_key HTTP/1.1"), { "hello", "<CMD OK>" })
  T.eq(run("GET /getenv/console_test_key?x=1 HTTP/1.1"), { "hello", "<CMD OK>" }, "query ignored")
  T.eq(run("GET /call/" .. T.hex(echo) .. "/%22echo%22,%207 HTTP/1.1"),
    { "1\t7", "n\t1", "<CMD OK>" }, "escapes decoded")
  T.eq(run("GET /nosuch HTTP/1.1"),
    { "Invalid command, type help for command list", "", "<CMD Error>" })
  T.eq(run("GET / HTTP/1.1"), {})
  T.eq(run("POST / HTTP/1.1", "getenv console_test_key"), { "hello", "<CMD OK>" })
end)

T.test("cmem: bytes per Lua service, their total and live blocks", function()
  local lines = ok_lines("cmem")
  local values = {}
  for i = 1, #lines - 1 do
    local key, value = lines[i]:match "^(%S+)\t(%d+)$"
    T.ok(key, "key<TAB>number: " .. lines[i])
    values[key] = tonumber(value)
  end
  local mine = values[skynet.address(echo)]
  T.ok(mine and mine > 1024, "the echo service holds its state's heap")
  local sum = 0
  for key, value in pairs(values) do
    if key:sub(1, 1) == ":" then sum = sum + value end
  end
  -- A second snapshot: the console itself allocates between the two.
  T.ok(math.abs(values.total - sum) < sum // 10, "total is the sum over the services")
  T.ok(values.block > 0, "live blocks")
  local memory = require "skynet.memory"
  T.ok(memory.current() > 0, "memory.current(): this service's bytes")
end)

T.test("jmem: the process allocator's statistics", function()
  local lines = ok_lines("jmem")
  for _, key in ipairs { "arena", "uordblks", "fordblks" } do
    find_line(lines, "^" .. key .. "\t%d+$")
  end
end)

T.test("dumpheap, profactive: an error line, <CMD Error>", function()
  for name, pattern in pairs {
    dumpheap = "^not supported: heap profiling needs jemalloc, and Starling uses glibc malloc$",
    profactive = "^not supported: heap profiling needs jemalloc, and Starling uses glibc malloc$",
  } do
    local lines = run(name .. " x")
    T.eq(#lines, 2, name)
    T.match(lines[1], pattern, name)
    T.eq(lines[2], "<CMD Error>", name)
  end
end)

T.test("info, task, uniqtask, killtask, dbgcmd: the debug commands", function()
  local h = skynet.newservice("echo")
  skynet.call(h, "lua", "info_func")
  T.eq(run("info " .. T.hex(h) .. " x"), { "1\tinfo", "2\tx", "<CMD OK>" })
  local p = T.spawn(skynet.call, h, "lua", "hold")
  skynet.call(h, "lua", "ping")
  local out = skynet.call(console, "lua", "line", "task " .. T.hex(h))
  local name = T.match(out, "^(.-) session: %d+\t"):match "^(.-) session: %d+\t"
  T.match(out, "\n<CMD OK>$")
  out = skynet.call(console, "lua", "line", "uniqtask " .. T.hex(h))
  T.match(out, "^1\tsessions:%[%d+%]\n\t")
  T.match(out, "\n<CMD OK>$")
  T.eq(run("killtask " .. T.hex(h) .. " nosuchtask"), { "Not found", "<CMD OK>" })
  T.eq(run("killtask " .. T.hex(h) .. " " .. name), { "<CMD OK>" })
  T.match(p:err(), "call failed$", "the killed coroutine's caller")
  T.eq(run("dbgcmd " .. T.hex(h) .. " SUPPORT lua"), { "true", "<CMD OK>" })
  local lines = run("dbgcmd " .. T.hex(h) .. " NO_SUCH")
  T.match(lines[1], "call failed$")
  T.eq(lines[2], "<CMD Error>")
end)

T.test("inject: runs a local file in the service, prints its output", function()
  local f = assert(io.open(T.getenv "test_tmp" .. "/inject_me.lua", "w"))
  f:write("print('injected', ...)\nprint(type(_P.lua.CMD))\n")
  f:close()
  f = assert(io.open(T.getenv "test_tmp" .. "/inject_bad.lua", "w"))
  f:write("print('before')\nerror('inject boom')\n")
  f:close()
  -- The node runs in test_tmp: relative names are read from there.
  T.eq(run("inject " .. T.hex(echo) .. " inject_me.lua a b"),
    { "injected\ta\tb", "table", "<CMD OK>" })
  local lines = run("inject " .. T.hex(echo) .. " inject_bad.lua")
  T.eq(lines[1], "before")
  T.match(lines[2], "inject boom")
  T.eq(lines[#lines], "<CMD Error>")
  T.eq(run("inject " .. T.hex(echo) .. " no_such_file.lua"),
    { "Can't open no_such_file.lua", "<CMD Error>" })
end)

T.test("trace: TRACELOG with proto and on/off", function()
  local from = T.mark()
  T.eq(run("trace " .. T.hex(echo) .. " lua off"), { "<CMD OK>" })
  local _, n = T.log(T.line(echo, "Turn trace log false for lua"), from)
  T.eq(run("trace " .. T.hex(echo) .. " on"), { "<CMD OK>" })
  T.log(T.line(echo, "Turn trace log true for lua"), n + 1)
  T.eq(run("trace " .. T.hex(echo) .. " lua maybe"),
    { "Expected on or off, got maybe", "<CMD Error>" })
end)

T.test("exit: the service exits", function()
  local h = skynet.newservice("echo")
  local from = T.mark()
  T.eq(run("exit " .. T.hex(h)), { "<CMD OK>" })
  T.log(T.line(h, "KILL self"), from)
  T.gone(h)
end)

T.test("service: SERVICE LIST of the unique services", function()
  local h = skynet.uniqueservice("uniq")
  find_line(ok_lines("service"), "^uniq\t" .. T.hex(h) .. "$")
end)

T.test("logon, logoff, signal, clearcache", function()
  T.eq(run("logon " .. T.hex(echo)), { "<CMD OK>" })
  T.eq(run("logoff " .. T.hex(echo)), { "<CMD OK>" })
  local from = T.mark()
  T.eq(run("signal " .. T.hex(echo) .. " 1"), { "<CMD OK>" })
  T.log("^%[" .. T.hex(echo) .. "%] Current Memory %d+%.%d%d%dK$", from)
  T.eq(run("signal " .. T.hex(echo) .. " x"), { "Not a valid signal x", "<CMD Error>" })
  T.eq(run("clearcache"), { "<CMD OK>" })
end)

local free_port = T.free_port

T.test("over TCP: welcome, commands, <CMD OK>, connected / disconnect lines", function()
  local port = free_port()
  local from = T.mark()
  local h = skynet.newservice("debug_console", "127.0.0.1", tostring(port))
  T.log(T.line(h, "Start debug console at 127.0.0.1:" .. port), from)
  local id = assert(socket.open("127.0.0.1", port))
  T.eq(socket.readline(id), "Welcome to skynet console")
  T.log("^%[" .. T.hex(h) .. "%] 127%.0%.0%.1:%d+ connected$", from)
  socket.write(id, "getenv console_test_key\r\n")
  T.eq(socket.readline(id), "hello")
  T.eq(socket.readline(id), "<CMD OK>")
  socket.write(id, "nosuch\n")
  T.eq(socket.readline(id), "Invalid command, type help for command list")
  T.eq(socket.readline(id), "")
  T.eq(socket.readline(id), "<CMD Error>")
  socket.write(id, "netstat\n")
  local seen_listener = false
  while true do
    local line = assert(socket.readline(id))
    if line == "<CMD OK>" then break end
    if line:find("type:LISTEN", 1, true) and line:find("address:" .. T.hex(h), 1, true) then
      seen_listener = true
    end
  end
  T.ok(seen_listener, "netstat lists the console's listener")
  socket.close(id)
  T.log("^%[" .. T.hex(h) .. "%] 127%.0%.0%.1:%d+ disconnect$", from)

  -- an HTTP request runs one command and closes
  id = assert(socket.open("127.0.0.1", port))
  T.eq(socket.readline(id), "Welcome to skynet console")
  socket.write(id, "GET /getenv/console_test_key HTTP/1.1\r\nHost: x\r\n\r\n")
  local reply = socket.readall(id)
  T.match(reply, "^HTTP/1%.1 200 OK\r\n")
  T.match(reply, "\r\n\r\nhello\n<CMD OK>\n$")
  socket.close(id)
  id = assert(socket.open("127.0.0.1", port))
  T.eq(socket.readline(id), "Welcome to skynet console")
  local body = "getenv console_test_key"
  socket.write(id, "POST / HTTP/1.1\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body)
  T.match(socket.readall(id), "\r\n\r\nhello\n<CMD OK>\n$")
  socket.close(id)
  skynet.kill(h)

  h = skynet.newservice("debug_console", tostring(free_port()))
  T.log("^%[" .. T.hex(h) .. "%] Start debug console at 127%.0%.0%.1:%d+$", from)
  skynet.kill(h)
  T.raises("call failed$", skynet.newservice, "debug_console", "noport")
end)

-- The console's output up to the next prompt, which ends in ">" with no newline.
local function read_prompt(id)
  local text = {}
  repeat
    local c = assert(socket.read(id, 1), "the console closed")
    text[#text + 1] = c
  until c == ">"
  return table.concat(text)
end

-- A console on a free port, a connection to it past the welcome line, and the console.
local function console_connection()
  local port = free_port()
  local h = skynet.newservice("debug_console", "127.0.0.1", tostring(port))
  local id = assert(socket.open("127.0.0.1", port))
  T.eq(socket.readline(id), "Welcome to skynet console")
  return id, h
end

-- A debug agent answers the console and then retires on its own: waits for the `KILL self` of
-- every agent launched since log line `from`, so none outlives the case's verdict.
local function agents_retired(from)
  for _, line in ipairs(T.lines(from)) do
    local agent = line:match("^(%[:%x+%]) LAUNCH snlua debug_agent$")
    if agent then
      T.log("^" .. T.esc(agent) .. " KILL self$", from)
    end
  end
end

T.test("debug: expressions, a watch, s / n / c, cont; the service runs on", function()
  local id, h = console_connection()
  local target = skynet.newservice("debuggee")
  local top = string.format(":%08x>", target)
  local from = T.mark()
  local function ask(line)
    socket.write(id, line .. "\n")
    return read_prompt(id)
  end

  socket.write(id, "debug " .. T.hex(target) .. "\n")
  T.eq(read_prompt(id), top, "the top prompt")
  T.log(T.line(target, "Enter debug mode"), from)
  T.eq(ask "1 + 2", "3\n" .. top, "an expression prints its value")
  T.eq(ask "total", "0\n" .. top, "the service's globals")
  T.eq(ask "print('a', nil, 3)", "a\tnil\t3\n" .. top, "print writes to the console")
  T.eq(ask "", top, "an empty line")
  T.match(ask "1 +", "^%(debug%):1: .+\n" .. T.esc(top) .. "$", "a syntax error")
  T.eq(ask "error('boom')", "(debug):1: boom\n" .. top, "a runtime error")
  T.eq(ask "setmetatable({}, { __tostring = function() error('shy', 0) end })",
    "shy\n" .. top, "a result that cannot be printed")
  T.eq(ask 'watch("nosuch")', "No dispatch for nosuch\n" .. top)
  T.eq(ask 'watch("lua")', top, "watch the next lua message")

  local answer
  skynet.fork(function()
    answer = table.pack(skynet.call(target, "lua", "add", 5))
  end)
  local function stop_line(prompt)
    return tonumber(T.match(prompt, "debuggee%.lua%(%d+%)>$"):match "%((%d+)%)>$")
  end
  local at = read_prompt(id)
  T.eq(stop_line(at), 14, "stopped at the handler's first line")
  T.eq(skynet.call(target, "debug", "PING"), nil, "a stopped handler holds no other message")
  T.eq(ask "(n)", "5\n" .. at, "a local of the stopped frame (n alone is next)")
  T.eq(ask "doubled", "nil\n" .. at, "a local not yet in scope")
  local inner = ask "s"
  T.eq(stop_line(inner), 9, "s steps into double")
  T.eq(ask "n * 10", "50\n" .. inner, "double's own local")
  at = ask "n"
  T.eq(stop_line(at), 15, "n runs to the caller's next line")
  T.eq(ask "doubled", "10\n" .. at)
  T.eq(ask "doubled = 100", at, "an assignment to a local")
  at = ask "n"
  T.eq(stop_line(at), 16)
  T.eq(ask "total", "100\n" .. at, "the assigned local was used")
  T.eq(ask "marker = total + 1", at, "an assignment to a global of the stopped function")
  T.eq(answer, nil, "no answer while stopped")
  T.eq(ask "c", top, "c lets the handler run on")
  T.eventually(function() return answer end)
  T.eq(answer, table.pack("add", 100))
  T.eq(ask "marker", "101\n" .. top, "the stopped function's globals are the service's")

  T.eq(ask 'watch("lua", function() return false end)', top)
  T.eq(ask 'watch("lua", function(_, _, cmd) return cmd == "stop" end)', top,
    "watching again replaces the condition")
  T.eq(table.pack(skynet.call(target, "lua", "add", 1)), table.pack("add", 102),
    "a message the condition rejects runs unwatched")
  skynet.fork(function()
    answer = table.pack(skynet.call(target, "lua", "stop", 1))
  end)
  T.eq(stop_line(read_prompt(id)), 14, "the condition's message stops")
  socket.write(id, "cont\n")
  T.eq(socket.readline(id), "<CMD OK>", "cont ends the command")
  T.log(T.line(target, "Leave debug mode"), from)
  T.eventually(function() return answer[1] == "stop" end)
  T.eq(answer, table.pack("stop", 104), "cont released the stopped handler")
  socket.write(id, "getenv console_test_key\n")
  T.eq(socket.readline(id), "hello", "lines are console commands again")
  T.eq(socket.readline(id), "<CMD OK>")
  T.eq(table.pack(skynet.call(target, "lua", "add", 0)), table.pack("add", 104))
  agents_retired(from)
  socket.close(id)
  skynet.kill(h)
end)

T.test("debug: closing leaves debug mode; second debugger, dead or killed service fail",
    function()
  local id, h = console_connection()
  local target = skynet.newservice("debuggee")
  local from = T.mark()
  socket.write(id, "debug " .. T.hex(target) .. "\n")
  T.eq(read_prompt(id), string.format(":%08x>", target))

  local other = console_connection()
  socket.write(other, "debug " .. T.hex(target) .. "\n")
  T.match(socket.readline(other), "^Debug session failed: ", "one debugger at a time")
  T.eq(socket.readline(other), "<CMD Error>")
  socket.write(other, "debug " .. T.hex(T.INVALID) .. "\n")
  T.match(socket.readline(other), "^Debug session failed: ", "a dead service")
  T.eq(socket.readline(other), "<CMD Error>")
  socket.close(other)

  socket.write(id, 'watch("lua")\n')
  T.eq(read_prompt(id), string.format(":%08x>", target))
  socket.close(id)
  T.log(T.line(target, "Leave debug mode"), from)
  T.eq(table.pack(skynet.call(target, "lua", "add", 1)), table.pack("add", 2),
    "leaving removed the watch")
  T.eq(run("debug " .. T.hex(target)),
    { "debug: needs a console connection over TCP", "<CMD Error>" })

  -- a service killed while a handler of it is stopped ends the session with an error
  id = console_connection()
  socket.write(id, "debug " .. T.hex(target) .. "\n")
  local top = string.format(":%08x>", target)
  T.eq(read_prompt(id), top)
  socket.write(id, 'watch("lua")\n')
  T.eq(read_prompt(id), top)
  skynet.send(target, "lua", "add", 1) -- a call would wait for good: kill answers nothing
  T.match(read_prompt(id), "debuggee%.lua%(14%)>$")
  skynet.kill(target)
  T.eq(socket.readline(id), string.format("Debug session failed: :%08x is gone", target),
    "the agent's ping finds it gone")
  T.eq(socket.readline(id), "<CMD Error>")
  agents_retired(from)
  socket.write(id, "getenv console_test_key\n")
  T.eq(socket.readline(id), "hello", "lines are console commands again")
  socket.close(id)
  skynet.kill(h)
end)

T.test("the lua protocol answers only line", function()
  T.raises("call failed$", skynet.call, console, "lua", "other", "help")
  T.eq(skynet.call(console, "lua", "line", "getenv console_test_key"), "hello\n<CMD OK>")
end)

T.start()
