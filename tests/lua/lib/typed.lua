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

-- What is wrong with r, the table.pack of a pcall that ran the vector call c (c.ok, then
-- c.results, or c.result_hex when there is one and by_hex, else c.error), or nil when nothing
-- is.
local function verdict(c, r, by_hex)
  if not c.ok then
    if r[1] then return "returned instead of raising " .. c.error end
    if r[2] ~= c.error then return string.format("error %q, want %q", tostring(r[2]), c.error) end
    return nil
  end
  if not r[1] then return "raised " .. tostring(r[2]) end
  if by_hex and c.result_hex then
    if typed.hex(r[2]) ~= c.result_hex then return "got " .. typed.hex(r[2]) end
    return nil
  end
  for j = 1, c.results.n do
    local why = typed.diff(r[j + 1], typed.value(c.results[j]), "result " .. j)
    if why then return why end
  end
  if r.n - 1 ~= c.results.n then return "results: " .. (r.n - 1) end
end

-- Runs every vector call of `calls` with run(c), which returns what pcall does: the list of
-- "<name>: <what is wrong>" for the calls that did not give what the vectors recorded (the
-- first result by its result_hex, when by_hex and the call has one).
function typed.failures(calls, run, by_hex)
  local failed = {}
  for i = 1, calls.n do
    local c = calls[i]
    local why = verdict(c, table.pack(run(c)), by_hex)
    if why then failed[#failed + 1] = c.name .. ": " .. why end
  end
  return failed
end

return typed
