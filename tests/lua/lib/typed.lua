-- typed: the typed Lua values of tests/vectors (README "Notation") turned into Lua values, and
-- a comparison that takes floats by their bits (NaN included).
local typed = {}

function typed.unhex(h)
  return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end))
end

function typed.hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function float_of(bits)
  return (string.unpack(">d", typed.unhex(bits)))
end

-- The Lua value a typed description stands for.
function typed.value(d)
  local t = d.type
  if t == "nil" then return nil end
  if t == "boolean" then return d.value end
  if t == "integer" then return math.tointeger(tonumber(d.value)) end
  if t == "float" then return float_of(d.bits) end
  if t == "string" then
    if d.text then return d.text end
    if d.hex then return typed.unhex(d.hex) end
    if d["repeat"] then return string.rep(d["repeat"], d.length // #d["repeat"]) end
    if d.repeat_hex then
      local unit = typed.unhex(d.repeat_hex)
      return string.rep(unit, d.length // #unit)
    end
  end
  if t == "table" then
    local out = {}
    if d.array then
      for i = 1, d.array.n do out[i] = typed.value(d.array[i]) end
    end
    if d.array_fill then
      local v = typed.value(d.array_fill)
      for i = 1, d.array_count do out[#out + 1] = v end
    end
    if d.hash then
      for i = 1, d.hash.n do
        local pair = d.hash[i]
        out[typed.value(pair[1])] = typed.value(pair[2])
      end
    end
    return out
  end
  error("typed: cannot build a " .. tostring(t))
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if math.type(v) == "float" then return string.format("%.17g", v) end
  return tostring(v)
end

-- nil when `got` equals `want` (floats by bits, tables by content), else what differs.
function typed.diff(got, want, path)
  path = path or "value"
  if math.type(got) == "float" and math.type(want) == "float" then
    if string.pack("<d", got) == string.pack("<d", want) then return nil end
  elseif type(got) == "table" and type(want) == "table" then
    for k, v in pairs(want) do
      local d = typed.diff(got[k], v, path .. "[" .. show(k) .. "]")
      if d then return d end
    end
    for k in pairs(got) do
      if want[k] == nil then return path .. "[" .. show(k) .. "] is extra" end
    end
    return nil
  elseif math.type(got) == math.type(want) and got == want then
    return nil
  end
  return string.format("%s: got %s, want %s", path, show(got), show(want))
end

return typed
