-- json: a small JSON decoder for the test cases that read tests/vectors/*.json.
-- Objects become tables, arrays tables with n, null becomes json.null. Raises on bad input.

local json = { null = setmetatable({}, { __tostring = function() return "null" end }) }

local escapes = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }

local function decode_error(s, i, what)
  error(string.format("json: %s at byte %d near %q", what, i, s:sub(i, i + 10)), 0)
end

local value

local function skip(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

local function string_at(s, i)
  local parts, j = {}, i + 1
  while true do
    local k = s:find('["\\]', j)
    if not k then decode_error(s, i, "unterminated string") end
    parts[#parts + 1] = s:sub(j, k - 1)
    if s:sub(k, k) == '"' then
      return table.concat(parts), k + 1
    end
    local e = s:sub(k + 1, k + 1)
    if e == "u" then
      local code = tonumber(s:sub(k + 2, k + 5), 16) or decode_error(s, k, "bad \\u escape")
      parts[#parts + 1] = utf8.char(code)
      j = k + 6
    else
      parts[#parts + 1] = escapes[e] or decode_error(s, k, "bad escape")
      j = k + 2
    end
  end
end

function value(s, i)
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local t = {}
    i = skip(s, i + 1)
    if s:sub(i, i) == "}" then return t, i + 1 end
    while true do
      if s:sub(i, i) ~= '"' then decode_error(s, i, "expected a key") end
      local k
      k, i = string_at(s, i)
      i = skip(s, i)
      if s:sub(i, i) ~= ":" then decode_error(s, i, "expected ':'") end
      t[k], i = value(s, i + 1)
      i = skip(s, i)
      c = s:sub(i, i)
      if c == "}" then return t, i + 1 end
      if c ~= "," then decode_error(s, i, "expected ',' or '}'") end
      i = skip(s, i + 1)
    end
  elseif c == "[" then
    local t = { n = 0 }
    i = skip(s, i + 1)
    if s:sub(i, i) == "]" then return t, i + 1 end
    while true do
      t.n = t.n + 1
      t[t.n], i = value(s, i)
      i = skip(s, i)
      c = s:sub(i, i)
      if c == "]" then return t, i + 1 end
      if c ~= "," then decode_error(s, i, "expected ',' or ']'") end
      i = i + 1
    end
  elseif c == '"' then
    return string_at(s, i)
  elseif s:find("^true", i) then
    return true, i + 4
  elseif s:find("^false", i) then
    return false, i + 5
  elseif s:find("^null", i) then
    return json.null, i + 4
  end
  local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
  if not num or num == "" then decode_error(s, i, "unexpected character") end
  return tonumber(num), i + #num
end

function json.decode(s)
  local v, i = value(s, 1)
  if skip(s, i) <= #s then decode_error(s, i, "trailing characters") end
  return v
end

function json.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read "a"
  f:close()
  return json.decode(s)
end

return json
