-- URL path and query decoding (no scheme handling: everything before `?` is the path).
local M = {}

local function decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(..)", function(hex) return string.char(tonumber(hex, 16)) end))
end

function M.parse(u)
  local path, query = u:match("^([^?]*)%??(.*)$")
  return decode(path), query
end

function M.parse_query(q)
  local result = {}
  -- a key runs to the next `=`, a value to the next `&` (so `a&b=1` has the key `a&b`)
  for k, v in q:gmatch("([^=]*)=([^&]*)&?") do
    k, v = decode(k), decode(v)
    local current = result[k]
    if current == nil then
      result[k] = v
    elseif type(current) == "table" then
      current[#current + 1] = v
    else
      result[k] = { current, v }
    end
  end
  return result
end

return M
