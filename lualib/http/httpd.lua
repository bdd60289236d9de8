-- HTTP/1.x server side: read one request through a read function, write one response.
local internal = require "http.internal"

local M = {}

local reasons = {
  [100] = "Continue", [101] = "Switching Protocols",
  [200] = "OK", [201] = "Created", [202] = "Accepted", [203] = "Non-Authoritative Information",
  [204] = "No Content", [205] = "Reset Content", [206] = "Partial Content",
  [300] = "Multiple Choices", [301] = "Moved Permanently", [302] = "Found",
  [303] = "See Other", [304] = "Not Modified", [305] = "Use Proxy",
  [307] = "Temporary Redirect",
  [400] = "Bad Request", [401] = "Unauthorized", [402] = "Payment Required",
  [403] = "Forbidden", [404] = "Not Found", [405] = "Method Not Allowed",
  [406] = "Not Acceptable", [407] = "Proxy Authentication Required",
  [408] = "Request Time-out", [409] = "Conflict", [410] = "Gone",
  [411] = "Length Required", [412] = "Precondition Failed",
  [413] = "Request Entity Too Large", [414] = "Request-URI Too Large",
  [415] = "Unsupported Media Type", [416] = "Requested range not satisfiable",
  [417] = "Expectation Failed",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Time-out",
  [505] = "HTTP Version not supported",
}

local function read_request(readbytes, bodylimit)
  local lines = {}
  local body = internal.recvheader(readbytes, lines, "")
  if not body then return 413 end
  local method, url, version = lines[1]:match("^(%a+)%s+(.-)%s+HTTP/([%d%.]+)$")
  assert(method and url and version)
  version = tonumber(version)
  if not version or version < 1.0 or version > 1.1 then return 505 end
  local header = internal.parseheader(lines, 2, {})
  if not header then return 400 end
  local mode = header["transfer-encoding"]
  if mode and mode ~= "identity" and mode ~= "chunked" then return 501 end
  if mode == "chunked" then
    body, header = internal.recvchunkedbody(readbytes, bodylimit, header, body)
    if not body then return 413 end
  else
    local length = tonumber(header["content-length"])
    if length then
      if bodylimit and length > bodylimit then return 413 end
      if #body >= length then
        body = body:sub(1, length)
      else
        body = body .. readbytes(length - #body)
      end
    end
  end
  return 200, url, method, header, body
end

-- Returns code, url, method, header, body; or nil, err when the request is unreadable.
function M.read_request(readbytes, bodylimit)
  local ok, code, url, method, header, body = pcall(read_request, readbytes, bodylimit)
  if ok then return code, url, method, header, body end
  return nil, code
end

-- The status line and fields go out in one write with a string body: one segment for a small
-- response instead of three (Nagle's algorithm would hold the later ones back).
local function write_response(write, code, body, header)
  local out = { string.format("HTTP/1.1 %03d %s\r\n", code, reasons[code] or "") }
  if header then
    for name, value in pairs(header) do
      if type(value) == "table" then
        for _, v in ipairs(value) do out[#out + 1] = string.format("%s: %s\r\n", name, v) end
      else
        out[#out + 1] = string.format("%s: %s\r\n", name, value)
      end
    end
  end
  local kind = type(body)
  if kind == "string" then
    out[#out + 1] = string.format("content-length: %d\r\n\r\n", #body)
    out[#out + 1] = body
    write(table.concat(out))
  elseif kind == "function" then
    out[#out + 1] = "transfer-encoding: chunked\r\n"
    write(table.concat(out))
    while true do
      local piece = body()
      if piece == nil then break end
      if piece ~= "" then
        write(string.format("\r\n%x\r\n", #piece) .. piece)
      end
    end
    write("\r\n0\r\n\r\n")
  else
    assert(body == nil)
    out[#out + 1] = "\r\n"
    write(table.concat(out))
  end
end

function M.write_response(write, code, body, header)
  local ok, err = pcall(write_response, write, code, body, header)
  if ok then return true end
  return false, err
end

return M
