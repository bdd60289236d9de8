-- The HTTP/1.x message layer shared by httpd, httpc and websocket: header blocks, header
-- fields, chunked bodies, the client request/response exchange and response streams.
local M = {}

local HEADER_LIMIT = 8192 -- bytes of header read before the blank line is seen
local CHUNK_LINE_LIMIT = 128 -- bytes of a chunk-size line before its CRLF

-- Reads until the blank line that ends a header block. `buffer` holds bytes already read.
-- Fills `lines` with the lines of the block and returns the bytes after it, or nil when the
-- block grows past the limit while still incomplete.
function M.recvheader(readbytes, lines, buffer)
  local stop = buffer:find("\r\n\r\n", 1, true)
  while not stop do
    if #buffer > HEADER_LIMIT then return nil end
    local from = math.max(1, #buffer - 2)
    buffer = buffer .. readbytes()
    stop = buffer:find("\r\n\r\n", from, true)
  end
  local pos = 1
  while pos <= stop do
    local eol = buffer:find("\r\n", pos, true)
    lines[#lines + 1] = buffer:sub(pos, eol - 1)
    pos = eol + 2
  end
  return buffer:sub(stop + 4)
end

-- Adds the fields of lines[from..] to `header` (names lower-cased, repeated names collected
-- into arrays, a line starting with TAB continues the previous value). nil on a bad line.
function M.parseheader(lines, from, header)
  local name, value
  for i = from, #lines do
    local line = lines[i]
    if line:byte(1) == 9 then
      if not name then return nil end
      local current = header[name]
      if type(current) == "table" then
        current[#current] = current[#current] .. line:sub(2)
      else
        header[name] = current .. line:sub(2)
      end
    else
      name, value = line:match("^(.-):%s*(.*)")
      if not name then return nil end
      name = name:lower()
      local current = header[name]
      if current == nil then
        header[name] = value
      elseif type(current) == "table" then
        current[#current + 1] = value
      else
        header[name] = { current, value }
      end
    end
  end
  return header
end

-- Decodes a chunked body; `buffer` holds bytes already read. Returns body, header (trailer
-- fields merged in), or nil on bad framing or when the total passes `limit`.
function M.recvchunkedbody(readbytes, limit, header, buffer)
  local parts = {}
  local total = 0
  while true do
    local eol = buffer:find("\r\n", 1, true)
    while not eol do
      if #buffer > CHUNK_LINE_LIMIT then return nil end
      buffer = buffer .. readbytes()
      eol = buffer:find("\r\n", 1, true)
    end
    local size = buffer:sub(1, eol - 1):match("^%x+$")
    if not size then return nil end
    size = tonumber(size, 16)
    buffer = buffer:sub(eol + 2)
    if size == 0 then break end
    total = total + size
    if limit and total > limit then return nil end
    if #buffer < size + 2 then
      buffer = buffer .. readbytes(size + 2 - #buffer)
    end
    if buffer:sub(size + 1, size + 2) ~= "\r\n" then return nil end
    parts[#parts + 1] = buffer:sub(1, size)
    buffer = buffer:sub(size + 3)
  end
  -- trailer fields, then the final CRLF
  if #buffer < 2 then buffer = buffer .. readbytes(2 - #buffer) end
  if buffer:sub(1, 2) ~= "\r\n" then
    local lines = {}
    buffer = M.recvheader(readbytes, lines, buffer)
    if not buffer or not M.parseheader(lines, 1, header) then return nil end
  end
  return table.concat(parts), header
end

-- Client side ------------------------------------------------------------------------------

local function write_request(interface, method, host, url, header, content)
  local out = { method, " ", url, " HTTP/1.1\r\n" }
  local chunked = false
  if header then
    if header.Host == nil then out[#out + 1] = "Host:" .. host .. "\r\n" end
    for name, value in pairs(header) do
      if type(value) == "table" then
        for _, v in ipairs(value) do out[#out + 1] = string.format("%s:%s\r\n", name, v) end
      else
        out[#out + 1] = string.format("%s:%s\r\n", name, value)
      end
    end
    chunked = header["transfer-encoding"] == "chunked"
  else
    out[#out + 1] = "host:" .. host .. "\r\n"
  end
  if content then
    if not chunked then out[#out + 1] = "Content-length:" .. #content .. "\r\n" end
    out[#out + 1] = "\r\n"
    out[#out + 1] = content
  else
    out[#out + 1] = "Content-length:0\r\n\r\n"
  end
  interface.write(table.concat(out))
end

-- Sends the request and reads the response header. Returns status, header, leftover bytes.
local function request_header(interface, method, host, url, recvheader, header, content)
  write_request(interface, method, host, url, header, content)
  local lines = {}
  local rest = M.recvheader(interface.read, lines, "")
  if not rest then error("Recv header failed") end
  local code = lines[1]:match("^HTTP/[%d%.]+%s+(%d+)%s+.*$")
  code = assert(tonumber(code))
  local got = M.parseheader(lines, 2, recvheader or {})
  if not got then error("Invalid HTTP response header") end
  return code, got, rest
end

-- A HEAD response and these statuses carry no body whatever their header says.
local function no_body(method, code)
  return method == "HEAD" or (code >= 100 and code < 200) or code == 204 or code == 304
end

function M.request(interface, method, host, url, recvheader, header, content)
  local code, got, body = request_header(interface, method, host, url, recvheader, header,
    content)
  local mode = got["transfer-encoding"]
  if no_body(method, code) then
    body = ""
  elseif mode == "chunked" then
    body = M.recvchunkedbody(interface.read, nil, got, body)
    if not body then error("Invalid response body") end
  elseif mode and mode ~= "identity" then
    error("Unsupport transfer-encoding")
  else
    local length = tonumber(got["content-length"])
    if length then
      if #body >= length then
        body = body:sub(1, length)
      else
        body = body .. interface.read(length - #body)
      end
    else
      body = body .. interface.readall()
    end
  end
  return code, body
end

-- Response streams: the body is handed out piece by piece by calling the stream.

local stream = {}
stream.__index = stream

function stream:close()
  if self._onclose then
    local onclose = self._onclose
    self._onclose = nil
    self.connected = nil
    onclose(self)
  end
end
stream.__close = stream.close
stream.__gc = stream.close

function stream:padding()
  return self._reader(self), self
end
stream.__call = stream.padding

local function finish(s)
  s.connected = nil
  s:close()
end

local function chunk_reader(s)
  local interface = s._interface
  local buffer = s._buffer
  local eol = buffer:find("\r\n", 1, true)
  while not eol do
    if #buffer > CHUNK_LINE_LIMIT then error("Invalid response body") end
    buffer = buffer .. interface.read()
    eol = buffer:find("\r\n", 1, true)
  end
  local size = buffer:sub(1, eol - 1):match("^%x+$")
  if not size then error("Invalid response body") end
  size = tonumber(size, 16)
  buffer = buffer:sub(eol + 2)
  if size == 0 then
    if #buffer < 2 then buffer = buffer .. interface.read(2 - #buffer) end
    if buffer:sub(1, 2) ~= "\r\n" then
      local lines = {}
      buffer = M.recvheader(interface.read, lines, buffer)
      if not buffer or not M.parseheader(lines, 1, s.header) then
        error("Invalid response body")
      end
    end
    s._reader = function() return nil end
    finish(s)
    return ""
  end
  if #buffer < size + 2 then buffer = buffer .. interface.read(size + 2 - #buffer) end
  if buffer:sub(size + 1, size + 2) ~= "\r\n" then error("Invalid response body") end
  s._buffer = buffer:sub(size + 3)
  return buffer:sub(1, size)
end

local function length_reader(s)
  if s._left <= 0 then
    finish(s)
    return nil
  end
  local piece = s._buffer
  s._buffer = ""
  if piece == "" then piece = s._interface.read() end
  if #piece >= s._left then
    piece = piece:sub(1, s._left)
  end
  s._left = s._left - #piece
  return piece
end

local function eof_reader(s)
  local piece = s._buffer
  s._buffer = ""
  if piece ~= "" then return piece end
  return s._interface.read()
end

local function empty_reader(s)
  s._reader = function() return nil end
  finish(s)
  return ""
end

function M.request_stream(interface, method, host, url, recvheader, header, content, onclose)
  local code, got, rest = request_header(interface, method, host, url, recvheader, header,
    content)
  local s = setmetatable({
    status = code, header = got, connected = true,
    _interface = interface, _buffer = rest, _onclose = onclose,
  }, stream)
  local mode = got["transfer-encoding"]
  if no_body(method, code) then
    s._reader = empty_reader
  elseif mode == "chunked" then
    s._reader = chunk_reader
  elseif mode and mode ~= "identity" then
    s:close()
    error("Unsupport transfer-encoding")
  elseif tonumber(got["content-length"]) then
    s._left = tonumber(got["content-length"])
    s._reader = length_reader
  else
    s._reader = eof_reader
  end
  return s
end

return M
