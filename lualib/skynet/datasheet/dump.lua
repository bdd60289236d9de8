-- The datasheet document encoder (docs/LIBRARIES.md "datasheet", the encoding). A document
-- holds every table of a value; `layout` maps each table's key path to its index so that the
-- next version keeps the index of every table still at the same path.
local dump = {}

local TNIL, TINTEGER, TREAL, TBOOLEAN, TTABLE, TSTRING = 0, 1, 2, 3, 4, 5
local VANISHED = 0xffffffff

local spack = string.pack
local mtype = math.type

-- Checks the keys: strings and the sequence 1..#t only.
local function check_keys(t)
  local n = #t
  for k in pairs(t) do
    if type(k) == "number" then
      assert(mtype(k) == "integer" and k >= 1 and k <= n)
    else
      assert(type(k) == "string")
    end
  end
  return n
end

local function new_state(old)
  return {
    strings = {},         -- text -> offset
    string_parts = {},
    string_size = 0,
    tables = {},          -- index -> encoded table (string)
    layout = {},          -- path -> index
    old = old and old.layout,
    next_index = old and old.count or 0,
  }
end

local function intern(st, s)
  s = s:match("^[^%z]*") -- a string stops at its first NUL
  local offset = st.strings[s]
  if offset == nil then
    offset = st.string_size
    st.strings[s] = offset
    st.string_parts[#st.string_parts + 1] = s .. "\0"
    st.string_size = st.string_size + #s + 1
  end
  return offset
end

local encode_table

local function encode_value(st, v, path)
  local t = type(v)
  if t == "number" then
    if mtype(v) == "integer" and v >= -0x80000000 and v <= 0x7fffffff then
      return TINTEGER, string.unpack("<I4", spack("<i4", v))
    end
    return TREAL, string.unpack("<I4", spack("<f", v))
  elseif t == "boolean" then
    return TBOOLEAN, v and 1 or 0
  elseif t == "string" then
    return TSTRING, intern(st, v)
  elseif t == "table" then
    return TTABLE, encode_table(st, v, path)
  end
  error("Unsupport value " .. tostring(v))
end

-- The index of the table at `path`: kept from the previous version, else a fresh one.
local function index_of(st, path)
  local index = st.old and st.old[path]
  if index == nil then
    index = st.next_index
    st.next_index = index + 1
  end
  st.layout[path] = index
  return index
end

function encode_table(st, t, path)
  local index = index_of(st, path)
  local n = check_keys(t)
  local types, values, dict = {}, {}, {}
  for i = 1, n do
    local ty, v = encode_value(st, t[i], path .. spack("<s4", "#" .. i))
    types[i] = ty
    values[i] = spack("<I4", v)
  end
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  for _, k in ipairs(keys) do
    local koffset = intern(st, k)
    local ty, v = encode_value(st, t[k], path .. spack("<s4", "." .. k))
    types[#types + 1] = ty
    dict[#dict + 1] = spack("<I4I4", koffset, v)
  end
  local ntypes = #types
  local typebytes = string.char(table.unpack(types)) .. string.rep("\0", (4 - ntypes % 4) % 4)
  st.tables[index] = spack("<I4I4", n, #keys) .. typebytes .. table.concat(values) ..
    table.concat(dict)
  return index
end

-- Encodes `v` (a table); `old` is the previous version's result, for an update. Returns the
-- document and the new version's { layout, count }.
function dump.encode(v, old)
  assert(type(v) == "table")
  local st = new_state(old)
  encode_table(st, v, "")
  local count = st.next_index
  local offsets, body, size = {}, {}, 0
  for i = 0, count - 1 do
    local tbl = st.tables[i]
    if tbl then
      offsets[#offsets + 1] = spack("<I4", size)
      body[#body + 1] = tbl
      size = size + #tbl
    else
      offsets[#offsets + 1] = spack("<I4", VANISHED)
    end
  end
  local header = 8 + 4 * count
  local doc = spack("<I4I4", header + size, count) .. table.concat(offsets) ..
    table.concat(body) .. table.concat(st.string_parts)
  return doc, { layout = st.layout, count = count }
end

return dump
