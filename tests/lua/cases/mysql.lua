-- skynet.db.mysql against a throwaway MariaDB started by tests/support/with_mariadb.sh
-- (user sk / 123456, database skynet): login, queries, every column type, prepared
-- statements, multiple result sets, errors, reconnects, and a server sending garbage.
--! test_mysql_port = "$MYSQL_PORT"
local skynet = require "skynet"
local socket = require "skynet.socket"
local sc = require "skynet.socketchannel"
local mysql = require "skynet.db.mysql"
local T = require "testlib"

local port = assert(math.tointeger(tonumber(skynet.getenv "test_mysql_port")), "no test_mysql_port")

local function connect(opts)
  opts = opts or {}
  opts.host, opts.port = "127.0.0.1", opts.port or port
  opts.user = opts.user or "sk"
  opts.password = opts.password or "123456"
  opts.database = opts.database or "skynet"
  return mysql.connect(opts)
end

local db

T.test("login: the version, wrong password, unknown database, closed port", function()
  db = connect { charset = "utf8mb4" }
  T.match(db:server_ver(), "MariaDB")
  local from = T.mark()
  local err = T.raises("", connect, { password = "wrong" })
  T.eq(err, tostring(sc.error), "sc.error")
  T.log("socket: auth failed.*errno:1045, msg:Access denied for user 'sk'@'localhost' %(using password: YES%),sqlstate:28000$", from)
  T.raises("", connect, { database = "nodb" })
  T.log("errno:1049, msg:Unknown database 'nodb',sqlstate:42000$", from)
  local lid, _, closed = socket.listen("127.0.0.1", 0)
  socket.close(lid)
  T.raises("", connect, { port = closed })
  T.log("Connect failed", from)
  T.raises("", connect, { charset = "klingon" })
  T.log("unknown charset klingon$", from)
end)

T.test("statements without rows: the OK table, message with its length byte", function()
  T.eq(db:query "DROP TABLE IF EXISTS t".badresult, nil)
  local r = db:query "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20), v INT)"
  T.eq(r.affected_rows, 0)
  r = db:query "INSERT INTO t (name, v) VALUES ('a', 1), ('b', NULL)"
  T.eq(r.affected_rows, 2)
  T.eq(r.insert_id, 1)
  T.eq(r.message, "&Records: 2  Duplicates: 0  Warnings: 0")
  T.eq(db:ping().affected_rows, 0)
end)

T.test("rows: by name, NULL absent, compact arrays", function()
  local rows = db:query "SELECT id, name, v FROM t ORDER BY id"
  T.eq(rows, { { id = 1, name = "a", v = 1 }, { id = 2, name = "b" } })
  db:set_compact_arrays(true)
  rows = db:query "SELECT id, name, v FROM t ORDER BY id"
  T.eq(rows, { { 1, "a", 1 }, { 2, "b" } })
  db:set_compact_arrays(false)
  T.eq(db:query "SELECT * FROM t WHERE id > 100", {})
end)

T.test("every column type, text and binary protocol", function()
  db:query "DROP TABLE IF EXISTS types"
  T.eq(db:query [[CREATE TABLE types (
    ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, i INT, iu INT UNSIGNED,
    bi BIGINT, f FLOAT, d DOUBLE, dec1 DECIMAL(10,2), yr YEAR, dt DATETIME, dt6 DATETIME(6),
    da DATE, tm TIME, ts TIMESTAMP NULL, c CHAR(3), vc VARCHAR(10), tx TEXT, bl BLOB,
    bt BIT(3), en ENUM('x','y'), js JSON)]].badresult, nil)
  local r = db:query [[INSERT INTO types VALUES (-5, 250, -300, 70000, -2000000000, 4000000000,
    9007199254740993, 1.5, 2.25, 3.14, 2024, '2020-03-20 15:30:40', '2020-01-02 03:04:05.123456',
    '2020-01-02', '10:11:12', '2021-05-06 07:08:09', 'abc', 'hello', 'text', X'00FF0D0A',
    b'101', 'y', '{"a":1}')]]
  T.eq(r.affected_rows, 1, r.err)
  local want = {
    ti = -5, tu = 250, si = -300, mi = 70000, i = -2000000000, iu = 4000000000,
    bi = 9007199254740993, f = 1.5, d = 2.25, dec1 = 3.14, yr = 2024,
    dt = "2020-03-20 15:30:40", dt6 = "2020-01-02 03:04:05.123456", da = "2020-01-02",
    tm = "10:11:12", ts = "2021-05-06 07:08:09", c = "abc", vc = "hello", tx = "text",
    bl = "\0\255\r\n", bt = "\5", en = "y", js = '{"a":1}',
  }
  local text = db:query "SELECT * FROM types"
  T.eq(text, { want })
  T.eq(math.type(text[1].bi), "integer")
  local stmt = db:prepare "SELECT * FROM types"
  T.eq(stmt.param_count, 0)
  T.eq(stmt.field_count, 23)
  T.eq(stmt.fields[2], { name = "tu", type = 1 }, "unsigned: no is_signed")
  T.eq(stmt.fields[1], { name = "ti", type = 1, is_signed = true })
  local bin = db:execute(stmt)
  -- the binary protocol carries DATE as a datetime of length 4
  want.da = "2020-01-02 00:00:00"
  T.eq(bin, { want })
  db:stmt_close(stmt)
end)

T.test("prepared statements: parameters of each type, NULL, count check, reset, close", function()
  local stmt = db:prepare "SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e"
  T.eq(stmt.param_count, 5)
  local rows = db:execute(stmt, 42, 2.5, "str'\0", true, nil)
  T.eq(rows[1].a, 42)
  T.eq(rows[1].b, 2.5)
  T.eq(rows[1].c, "str'\0")
  T.eq(rows[1].d, 1)
  T.eq(rows[1].e, nil)
  T.raises("require stmt.param_count 5 get arg_num 1$", db.execute, db, stmt, 1)
  T.raises("invalid parameter type table$", db.execute, db, stmt, 1, 2, 3, 4, {})
  local ins = db:prepare "INSERT INTO t (name, v) VALUES (?, ?)"
  T.eq(db:execute(ins, "c", 3).affected_rows, 1)
  T.eq(db:stmt_reset(ins).affected_rows, 0)
  db:stmt_close(ins)
  local r = db:execute(ins, "d", 4)
  T.eq(r.badresult, true)
  T.eq(r.errno, 1243)
  local bad = db:prepare "SELECT nosuchcol FROM t"
  T.eq(bad.badresult, true)
  T.eq(bad.errno, 1054)
end)

T.test("errors: the badresult table; the connection stays usable", function()
  local r = db:query "SELECT nosuchcol FROM t"
  T.eq(r, { badresult = true, errno = 1054, sqlstate = "42S22", err = "Unknown column 'nosuchcol' in 'SELECT'" })
  T.eq(db:query "SELECT 1 AS one", { { one = 1 } })
end)

T.test("multiple result sets: multi-statements, CALL, an error in a later statement", function()
  local r = db:query "SELECT 1 AS a; SELECT 2 AS b"
  T.eq(r, { multiresultset = true, { { a = 1 } }, { { b = 2 } } })
  db:query "DROP PROCEDURE IF EXISTS p"
  T.eq(db:query "CREATE PROCEDURE p() BEGIN SELECT 1 AS x; SELECT 2 AS y; END".badresult, nil)
  r = db:query "CALL p()"
  T.eq(r.multiresultset, true)
  T.eq(#r, 3)
  T.eq(r[1], { { x = 1 } })
  T.eq(r[2], { { y = 2 } })
  T.eq(r[3].affected_rows, 0)
  r = db:query "SELECT 1 AS a; SELECT nosuchcol FROM t"
  T.eq(r.badresult, true)
  T.eq(r.errno, 1054)
  T.eq(r[1], { { a = 1 } })
  local stmt = db:prepare "CALL p()"
  r = db:execute(stmt)
  T.eq(r.mulitresultset, true, "skynet's spelling")
  T.eq(r[1], { { x = 1 } })
end)

T.test("pipelining, quote_sql_str, a killed connection reconnects with on_connect", function()
  local connects = 0
  local c = connect { on_connect = function(self)
    connects = connects + 1
    self:query "SET @marker = 7"
  end }
  local ps = {}
  for i = 1, 20 do
    ps[i] = T.spawn(c.query, c, "SELECT " .. i .. " AS n")
  end
  for i = 1, 20 do T.eq(ps[i]:value(), { { n = i } }) end
  local q = mysql.quote_sql_str "a'b\"c\\d\0e\nf\r\tg\26"
  T.eq(q, [['a\'b\"c\\d\0e\nf\r\tg\Z']])
  T.eq(c:query("SELECT " .. q .. " AS s")[1].s, "a'b\"c\\d\0e\nf\r\tg\26")
  local id = c:query("SELECT CONNECTION_ID() AS id")[1].id
  db:query("KILL " .. id)
  T.eventually(function()
    local ok, rows = pcall(c.query, c, "SELECT CONNECTION_ID() AS id, @marker AS m")
    return ok and type(rows) == "table" and rows[1] and rows[1].id ~= id and rows[1].m == 7
  end, 1000, "a new connection")
  T.eq(connects, 2)
  c:disconnect()
  T.raises("attempt to call a nil value", function() return c:query "SELECT 1" end)
end)

-- A fake server: sends greeting, then whatever `script` says.
local function fake_server(script)
  local lid, _, fport = socket.listen("127.0.0.1", 0)
  socket.start(lid, function(fd)
    socket.start(fd)
    local greeting = "\10" .. "5.5.5-fake\0" .. string.pack("<I4", 1) .. "12345678\0"
      .. string.pack("<I2BI2I2B", 0xf7ff, 33, 2, 0x81ff, 21) .. ("\0"):rep(10) .. "123456789012\0"
      .. "mysql_native_password\0"
    socket.write(fd, string.pack("<I3B", #greeting, 0) .. greeting)
    script(fd)
  end)
  return fport, lid
end

local OK = string.pack("<I3B", 7, 2) .. "\0\0\0\2\0\0\0"

T.test("a server sending garbage: a protocol error, the connection closed, no waiting", function()
  local fport, lid = fake_server(function(fd)
    socket.readline(fd, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0") -- the login
    socket.write(fd, OK)
    socket.read(fd, 5) -- the query
    -- a result set announcing two columns, then a broken column definition
    socket.write(fd, string.pack("<I3B", 1, 1) .. "\2" .. string.pack("<I3B", 3, 2) .. "\3de")
  end)
  local c = connect { port = fport, user = "x", password = "", database = "" }
  local bad = T.spawn(c.query, c, "SELECT")
  local behind = T.spawn(c.query, c, "SELECT 2")
  T.match(bad:err(300), "mysql protocol error: string runs past its packet$")
  T.match(behind:err(300), "mysql protocol error: string runs past its packet$",
    "the query pipelined behind it fails at once")
  -- nothing after the greeting: a short read when the server closes
  local fport2, lid2 = fake_server(function(fd) socket.close(fd) end)
  T.raises("", connect, { port = fport2 })
  socket.close(lid)
  socket.close(lid2)
end)

T.test("skynet's test/testmysql.lua logic: a table round trip", function()
  db:query "DROP TABLE IF EXISTS cats"
  db:query "CREATE TABLE cats (id SERIAL PRIMARY KEY, name VARCHAR(5))"
  T.eq(db:query("INSERT INTO cats (name) VALUES ('Bob'),(''),(NULL)").affected_rows, 3)
  T.eq(db:query "SELECT * FROM cats ORDER BY id", { { id = 1, name = "Bob" }, { id = 2, name = "" }, { id = 3 } })
end)

T.start()
