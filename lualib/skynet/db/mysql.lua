-- skynet.db.mysql: a MySQL/MariaDB client (protocol 4.1, mysql_native_password, no TLS, no
-- compression) over an order-mode socketchannel (docs/DATABASES.md). Requests pipeline: the
-- replies come back in request order. SQL errors come back as a table with badresult = true;
-- a reply that breaks the protocol raises "mysql protocol error: ..." in its caller and
-- closes the connection (the next request reconnects).

local socketchannel = require "skynet.socketchannel"
local crypt = require "skynet.crypt"

local byte, char, sub, format, rep = string.byte, string.char, string.sub, string.format, string.rep
local spack, sunpack = string.pack, string.unpack
local concat = table.concat
local type, tostring, tonumber, select = type, tostring, tonumber, select
local math_type = math.type
local setmetatable, error, pcall = setmetatable, error, pcall

local mysql = {}

local COM_QUERY, COM_PING = 0x03, 0x0e
local COM_STMT_PREPARE, COM_STMT_EXECUTE, COM_STMT_CLOSE, COM_STMT_RESET = 0x16, 0x17, 0x19, 0x1a
local CLIENT_FLAGS = 0x0003F7CF
local SERVER_MORE_RESULTS_EXISTS = 0x08
local UNSIGNED_FLAG = 0x20
-- A reply bigger than this (all its packets together) is a protocol error.
local MAX_REPLY = 256 * 1024 * 1024

local CHARSETS = {
  big5 = 1, dec8 = 3, cp850 = 4, hp8 = 6, koi8r = 7, latin1 = 8, latin2 = 9, swe7 = 10,
  ascii = 11, ujis = 12, sjis = 13, hebrew = 16, tis620 = 18, euckr = 19, koi8u = 22,
  gb2312 = 24, greek = 25, cp1250 = 26, gbk = 28, latin5 = 30, armscii8 = 32, utf8 = 33,
  utf8mb3 = 33, ucs2 = 35, cp866 = 36, keybcs2 = 37, macce = 38, macroman = 39, cp852 = 40,
  latin7 = 41, utf8mb4 = 45, cp1251 = 51, utf16 = 54, utf16le = 56, cp1256 = 57, cp1257 = 59,
  utf32 = 60, binary = 63, geostd8 = 92, cp932 = 95, eucjpms = 97, gb18030 = 248,
}

-- Column types
local T = {
  DECIMAL = 0, TINY = 1, SHORT = 2, LONG = 3, FLOAT = 4, DOUBLE = 5, NULL = 6, TIMESTAMP = 7,
  LONGLONG = 8, INT24 = 9, DATE = 10, TIME = 11, DATETIME = 12, YEAR = 13, NEWDATE = 14,
  VARCHAR = 15, BIT = 16, JSON = 245, NEWDECIMAL = 246, ENUM = 247, SET = 248,
  TINY_BLOB = 249, MEDIUM_BLOB = 250, LONG_BLOB = 251, BLOB = 252, VAR_STRING = 253,
  STRING = 254, GEOMETRY = 255,
}

-- Text-protocol columns converted with tonumber
local NUMERIC = {
  [T.TINY] = true, [T.SHORT] = true, [T.LONG] = true, [T.FLOAT] = true, [T.DOUBLE] = true,
  [T.LONGLONG] = true, [T.INT24] = true, [T.YEAR] = true, [T.NEWDECIMAL] = true,
}

---------------------------------------------------------------------------------------------
-- Reading packets. Parsers raise protocol_error on anything out of bounds.

local function protocol_error(what)
  error("mysql protocol error: " .. what, 0)
end

-- Returns the payload (continuation packets joined) and the sequence number.
local function read_packet(sock)
  local parts, total, seq = {}, 0, nil
  repeat
    local head = sock:read(4)
    local len
    len, seq = sunpack("<I3B", head)
    total = total + len
    if total > MAX_REPLY then protocol_error(format("reply of %d bytes or more", total)) end
    parts[#parts + 1] = len > 0 and sock:read(len) or ""
  until len < 0xffffff
  return concat(parts), seq
end

local function packet_kind(p)
  local b = byte(p)
  if b == 0x00 and #p >= 7 then return "OK" end
  if b == 0xff then return "ERR" end
  if b == 0xfe and #p < 9 then return "EOF" end
  if b == nil then protocol_error "empty packet" end
  return "DATA"
end

-- Length-encoded integer at pos: value (nil for NULL) and the next position.
local function lenenc_int(p, pos)
  local b = byte(p, pos)
  if b == nil then protocol_error "truncated length" end
  if b < 0xfb then return b, pos + 1 end
  if b == 0xfb then return nil, pos + 1 end
  local size = b == 0xfc and 2 or b == 0xfd and 3 or b == 0xfe and 8 or nil
  if size == nil or pos + size > #p then protocol_error "bad length" end
  return sunpack("<i" .. size, p, pos + 1), pos + 1 + size
end

local function lenenc_str(p, pos)
  local len
  len, pos = lenenc_int(p, pos)
  if len == nil then return nil, pos end
  if len < 0 or pos + len - 1 > #p then protocol_error "string runs past its packet" end
  return sub(p, pos, pos + len - 1), pos + len
end

local function fixed(p, fmt, pos, size)
  if pos + size - 1 > #p then protocol_error "field runs past its packet" end
  return sunpack(fmt, p, pos)
end

local function parse_ok(p)
  local res, pos = {}, 2
  res.affected_rows, pos = lenenc_int(p, pos)
  res.insert_id, pos = lenenc_int(p, pos)
  res.server_status, res.warning_count = fixed(p, "<I2I2", pos, 4)
  pos = pos + 4
  if pos <= #p then res.message = sub(p, pos) end
  return res
end

local function parse_err(p)
  local errno = fixed(p, "<I2", 2, 2)
  local sqlstate, msg
  if byte(p, 4) == 35 then -- '#'
    sqlstate, msg = sub(p, 5, 9), sub(p, 10)
  else
    msg = sub(p, 4)
  end
  return { badresult = true, errno = errno, sqlstate = sqlstate, err = msg }
end

local function parse_eof_status(p)
  if #p >= 5 then return (sunpack("<I2", p, 4)) end
  return 0
end

local function parse_column(p)
  local pos = 1
  local name
  for _ = 1, 4 do -- catalog, schema, table, org_table
    _, pos = lenenc_str(p, pos)
  end
  name, pos = lenenc_str(p, pos)
  _, pos = lenenc_str(p, pos) -- org_name
  _, pos = lenenc_int(p, pos) -- length of the fixed fields
  local _, _, ctype, flags = fixed(p, "<I2I4BI2", pos, 9)
  local col = { name = name, type = ctype }
  if flags & UNSIGNED_FLAG == 0 then col.is_signed = true end
  return col
end

local function expect_eof(sock, what)
  local p = read_packet(sock)
  if packet_kind(p) ~= "EOF" then protocol_error("no EOF after " .. what) end
  return p
end

local function read_columns(sock, n)
  local cols = {}
  for i = 1, n do
    local p = read_packet(sock)
    if packet_kind(p) ~= "DATA" then protocol_error "bad column definition" end
    cols[i] = parse_column(p)
  end
  expect_eof(sock, "the column definitions")
  return cols
end

---------------------------------------------------------------------------------------------
-- Row decoding

local function text_row(p, cols, compact)
  local row, pos = {}, 1
  for i = 1, #cols do
    local col = cols[i]
    local v
    v, pos = lenenc_str(p, pos)
    if v ~= nil and NUMERIC[col.type] then v = tonumber(v) end
    row[compact and i or col.name] = v
  end
  return row
end

local INT_FORMATS = {
  [T.TINY] = { "<i1", "<I1", 1 }, [T.SHORT] = { "<i2", "<I2", 2 }, [T.YEAR] = { "<i2", "<I2", 2 },
  [T.INT24] = { "<i4", "<I4", 4 }, [T.LONG] = { "<i4", "<I4", 4 },
  [T.LONGLONG] = { "<i8", "<I8", 8 },
}

local STRING_TYPES = {
  [T.DECIMAL] = true, [T.VARCHAR] = true, [T.BIT] = true, [T.JSON] = true, [T.ENUM] = true,
  [T.SET] = true, [T.TINY_BLOB] = true, [T.MEDIUM_BLOB] = true, [T.LONG_BLOB] = true,
  [T.BLOB] = true, [T.VAR_STRING] = true, [T.STRING] = true, [T.GEOMETRY] = true,
}

local function binary_datetime(p, pos)
  local len = fixed(p, "B", pos, 1)
  if pos + len > #p then protocol_error "date runs past its packet" end
  local y, m, d, h, mi, s, us = 0, 0, 0, 0, 0, 0, 0
  if len >= 4 then y, m, d = sunpack("<I2BB", p, pos + 1) end
  if len >= 7 then h, mi, s = sunpack("BBB", p, pos + 5) end
  if len >= 11 then us = sunpack("<I4", p, pos + 8) end
  local text = format("%04d-%02d-%02d %02d:%02d:%02d", y, m, d, h, mi, s)
  if len >= 11 then text = text .. format(".%06d", us) end
  return text, pos + 1 + len
end

local function binary_time(p, pos)
  local len = fixed(p, "B", pos, 1)
  if pos + len > #p then protocol_error "time runs past its packet" end
  local neg, days, h, mi, s, us = 0, 0, 0, 0, 0, 0
  if len >= 8 then neg, days, h, mi, s = sunpack("<BI4BBB", p, pos + 1) end
  if len >= 12 then us = sunpack("<I4", p, pos + 9) end
  local text = format("%s%02d:%02d:%02d", neg == 1 and "-" or "", days * 24 + h, mi, s)
  if len >= 12 then text = text .. format(".%06d", us) end
  return text, pos + 1 + len
end

local function binary_value(p, pos, col)
  local t = col.type
  local int = INT_FORMATS[t]
  if int then
    return fixed(p, col.is_signed and int[1] or int[2], pos, int[3])
  elseif t == T.FLOAT then
    return fixed(p, "<f", pos, 4)
  elseif t == T.DOUBLE then
    return fixed(p, "<d", pos, 8)
  elseif t == T.DATE or t == T.DATETIME or t == T.TIMESTAMP then
    return binary_datetime(p, pos)
  elseif t == T.TIME then
    return binary_time(p, pos)
  elseif t == T.NEWDECIMAL then
    local v, next_pos = lenenc_str(p, pos)
    return tonumber(v), next_pos
  elseif STRING_TYPES[t] then
    return lenenc_str(p, pos)
  end
  protocol_error(format("unsupported field type %d in a binary row", t))
end

local function binary_row(p, cols, compact)
  local n = #cols
  local bitmap_at = 2 -- after the 0x00 header; the bitmap's first two bits are unused
  local pos = bitmap_at + (n + 7 + 2) // 8
  if pos - 1 > #p then protocol_error "truncated row" end
  local row = {}
  for i = 1, n do
    local bit = i + 1
    local is_null = byte(p, bitmap_at + bit // 8) & (1 << (bit % 8)) ~= 0
    if not is_null then
      local v
      v, pos = binary_value(p, pos, cols[i])
      row[compact and i or cols[i].name] = v
    end
  end
  return row
end

---------------------------------------------------------------------------------------------
-- Result sets: one result (OK, ERR or rows) and whether more follow.

local function read_one_result(sock, binary, compact)
  local p = read_packet(sock)
  local kind = packet_kind(p)
  if kind == "OK" then
    local res = parse_ok(p)
    return res, res.server_status & SERVER_MORE_RESULTS_EXISTS ~= 0
  elseif kind == "ERR" then
    return parse_err(p), false
  elseif kind == "EOF" then
    protocol_error "unexpected EOF packet"
  end
  local ncols = lenenc_int(p, 1)
  if not ncols or ncols < 1 or ncols > 4096 then protocol_error "bad column count" end
  local cols = read_columns(sock, ncols)
  local decode = binary and binary_row or text_row
  local rows = {}
  while true do
    p = read_packet(sock)
    kind = packet_kind(p)
    if kind == "EOF" then
      return rows, parse_eof_status(p) & SERVER_MORE_RESULTS_EXISTS ~= 0
    elseif kind == "ERR" then
      return parse_err(p), false
    end
    rows[#rows + 1] = decode(p, cols, compact)
  end
end

local function read_results(sock, binary, compact, multi_key)
  local res, more = read_one_result(sock, binary, compact)
  if not more then return res end
  local all = { [multi_key] = true, res }
  repeat
    res, more = read_one_result(sock, binary, compact)
    all[#all + 1] = res
    if res.badresult then
      all.badresult, all.err, all.errno, all.sqlstate = true, res.err, res.errno, res.sqlstate
    end
  until not more
  return all
end

-- Wraps a reply parser as a channel response function: errors other than the channel's own
-- are protocol errors, raised (the channel closes the connection and fails its caller).
local function response(parse, ...)
  local a, b, c = ...
  return function(sock)
    return true, parse(sock, a, b, c)
  end
end

local function parse_prepare(sock)
  local p = read_packet(sock)
  local kind = packet_kind(p)
  if kind == "ERR" then return parse_err(p) end
  if kind ~= "OK" or #p < 12 then protocol_error "bad prepare reply" end
  local id, ncols, nparams, _, warnings = sunpack("<I4I2I2BI2", p, 2)
  local stmt = {
    prepare_id = id, field_count = ncols, param_count = nparams, warning_count = warnings,
    params = {}, fields = {},
  }
  if nparams > 0 then stmt.params = read_columns(sock, nparams) end
  if ncols > 0 then stmt.fields = read_columns(sock, ncols) end
  return stmt
end

---------------------------------------------------------------------------------------------
-- Requests

local function packet(seq, payload)
  return spack("<I3B", #payload, seq) .. payload
end

local function command(db, payload, parse, ...)
  return db.sockchannel:request(packet(0, payload), parse and response(parse, ...))
end

local function token(password, scramble)
  if password == "" then return "" end
  local stage1 = crypt.sha1(password)
  local stage2 = crypt.sha1(stage1)
  return crypt.xor_str(stage1, crypt.sha1(scramble .. stage2))
end

local function parse_greeting(p)
  if byte(p) == 0xff then
    local e = parse_err(p)
    error(format("errno:%d, msg:%s", e.errno, e.err), 0)
  end
  if byte(p) ~= 10 then protocol_error(format("protocol version %s", tostring(byte(p)))) end
  local version_end = p:find("\0", 2, true)
  if not version_end then protocol_error "bad greeting" end
  local version = sub(p, 2, version_end - 1)
  local pos = version_end + 1
  local scramble1 = sub(p, pos + 4, pos + 11)
  if #scramble1 ~= 8 then protocol_error "bad greeting" end
  pos = pos + 13 + 2 + 1 + 2 + 2 + 1 + 10 -- id, scramble, filler, caps, charset, status, caps, len, reserved
  local scramble2 = sub(p, pos, pos + 11)
  if #scramble2 ~= 12 then protocol_error "bad greeting" end
  return version, scramble1 .. scramble2
end

local function login(db, opts)
  -- an unknown charset fails every login attempt (as it fails skynet's)
  local charset = opts.charset and CHARSETS[opts.charset] or 0
  return function(ch)
    if opts.charset and not CHARSETS[opts.charset] then
      error("unknown charset " .. tostring(opts.charset), 0)
    end
    local reply = ch:response(function(sock) return true, { read_packet(sock) } end)
    local greeting, seq = reply[1], reply[2]
    local version, scramble = parse_greeting(greeting)
    db._server_ver = version
    local user, database = opts.user or "", opts.database or ""
    local auth = token(opts.password or "", scramble)
    local payload = spack("<I4I4B", CLIENT_FLAGS, opts.max_packet_size or 1024 * 1024, charset)
      .. rep("\0", 23) .. user .. "\0" .. char(#auth) .. auth .. database .. "\0"
    local res = ch:request(packet(seq + 1, payload), function(sock)
      local p = read_packet(sock)
      local kind = packet_kind(p)
      if kind == "OK" then return true, true end
      if kind == "ERR" then
        local e = parse_err(p)
        return true, format("errno:%d, msg:%s,sqlstate:%s", e.errno, e.err, e.sqlstate or "")
      end
      if byte(p) == 0xfe then return true, "old pre-4.1 authentication protocol not supported" end
      protocol_error "bad login reply"
    end)
    if res ~= true then error(res, 0) end
    if opts.on_connect then opts.on_connect(db) end
  end
end

---------------------------------------------------------------------------------------------
-- API

local db_mt = {}
db_mt.__index = db_mt

function mysql.connect(opts)
  local db = setmetatable({ compact = opts.compact_arrays and true or false }, db_mt)
  local ch = socketchannel.channel {
    host = opts.host,
    port = opts.port or 3306,
    auth = login(db, opts),
    overload = opts.overload,
    timeout = opts.timeout,
  }
  db.sockchannel = ch
  ch:connect(true)
  return db
end

function db_mt:disconnect()
  self.sockchannel:close()
  setmetatable(self, nil)
end

function db_mt:server_ver()
  return self._server_ver
end

function db_mt:set_compact_arrays(value)
  self.compact = value and true or false
end

function db_mt:query(sql)
  return command(self, char(COM_QUERY) .. sql, read_results, false, self.compact, "multiresultset")
end

function db_mt:ping()
  return command(self, char(COM_PING), read_results, false, self.compact, "multiresultset")
end

function db_mt:prepare(sql)
  return command(self, char(COM_STMT_PREPARE) .. sql, parse_prepare)
end

local function encode_params(stmt, n, ...)
  if n == 0 then return "" end
  local bitmap = {}
  for i = 1, (n + 7) // 8 do bitmap[i] = 0 end
  local types, values = {}, {}
  for i = 1, n do
    local v = select(i, ...)
    local vt = type(v)
    if v == nil then
      bitmap[(i - 1) // 8 + 1] = bitmap[(i - 1) // 8 + 1] | (1 << ((i - 1) % 8))
      types[i] = spack("<BB", T.NULL, 0)
    elseif vt == "number" then
      if math_type(v) == "integer" then
        types[i], values[#values + 1] = spack("<BB", T.LONGLONG, 0), spack("<i8", v)
      else
        types[i], values[#values + 1] = spack("<BB", T.DOUBLE, 0), spack("<d", v)
      end
    elseif vt == "string" then
      types[i] = spack("<BB", T.VARCHAR, 0)
      local len = #v
      local head = len < 0xfb and char(len) or len < 0x10000 and spack("<BI2", 0xfc, len)
        or len < 0x1000000 and spack("<BI3", 0xfd, len) or spack("<BI8", 0xfe, len)
      values[#values + 1] = head .. v
    elseif vt == "boolean" then
      types[i], values[#values + 1] = spack("<BB", T.TINY, 0), char(v and 1 or 0)
    else
      error("invalid parameter type " .. vt, 3)
    end
  end
  local bits = {}
  for i = 1, #bitmap do bits[i] = char(bitmap[i]) end
  return concat(bits) .. "\1" .. concat(types) .. concat(values)
end

function db_mt:execute(stmt, ...)
  local n = select("#", ...)
  if n ~= stmt.param_count then
    error(format("require stmt.param_count %d get arg_num %d", stmt.param_count, n), 2)
  end
  local payload = char(COM_STMT_EXECUTE) .. spack("<I4BI4", stmt.prepare_id, 0, 1)
    .. encode_params(stmt, n, ...)
  return command(self, payload, read_results, true, self.compact, "mulitresultset")
end

function db_mt:stmt_reset(stmt)
  return command(self, char(COM_STMT_RESET) .. spack("<I4", stmt.prepare_id), read_results,
    false, self.compact, "multiresultset")
end

function db_mt:stmt_close(stmt)
  command(self, char(COM_STMT_CLOSE) .. spack("<I4", stmt.prepare_id))
end

local QUOTE = {
  ["\0"] = "\\0", ["\b"] = "\\b", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
  ["\26"] = "\\Z", ["\\"] = "\\\\", ["'"] = "\\'", ['"'] = '\\"',
}

function mysql.quote_sql_str(s)
  return "'" .. s:gsub("[%z\b\n\r\t\26\\'\"]", QUOTE) .. "'"
end

return mysql
