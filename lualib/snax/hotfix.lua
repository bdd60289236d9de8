-- snax hotfix (docs/LUA_SERVICES.md): patches the methods of a running snax service.
--
-- hotfix(methods, G, source, ...) -> results of the patch's hotfix(...)
--   methods: the service's method list (snax.interface); entries are replaced in place.
--   G: the service's global table. source: Lua text written like a snax file.
local parse = require "snax.interface"

-- The identity of f's _ENV upvalue, nil if it uses no global. Functions of one chunk share
-- that upvalue; a library module has its own even when it holds the same table.
local function env_id(f)
  local i = 1
  while true do
    local name = debug.getupvalue(f, i)
    if name == nil then
      return nil
    elseif name == "_ENV" then
      return debug.upvalueid(f, i)
    end
    i = i + 1
  end
end

-- Gathers, by name, the upvalues reachable from f: its own and those of the functions it
-- holds as upvalues that belong to the snax file (same _ENV upvalue as its methods).
-- uv[name] = { func, index, id }.
local function collect(f, env, uv, seen)
  if seen[f] then
    return
  end
  seen[f] = true
  local i = 1
  while true do
    local name, value = debug.getupvalue(f, i)
    if name == nil then
      break
    end
    local id = debug.upvalueid(f, i)
    local known = uv[name]
    if known == nil then
      uv[name] = { f, i, id }
    elseif known[3] ~= id then
      error("ambiguity local value " .. name, 0)
    end
    if type(value) == "function" and env ~= nil and env_id(value) == env then
      collect(value, env, uv, seen)
    end
    i = i + 1
  end
end

-- Joins the upvalues of the patch function f that the patch left nil (declared without a
-- value) or that are the patch's global table to the service's upvalue of the same name.
local function join(f, patch_env, uv, seen)
  if seen[f] then
    return
  end
  seen[f] = true
  local i = 1
  while true do
    local name, value = debug.getupvalue(f, i)
    if name == nil then
      break
    end
    if value == nil or value == patch_env then
      local target = uv[name]
      if target then
        debug.upvaluejoin(f, i, target[1], target[2])
      end
    elseif type(value) == "function" then
      join(value, patch_env, uv, seen)
    end
    i = i + 1
  end
end

return function(methods, G, source, ...)
  local env = {}
  for key, value in pairs(G) do
    env[key] = value
  end
  local patch = parse("patch", env, function(_, _, patch_env)
    return load(source, "=patch", "bt", patch_env)
  end)

  local env
  for _, m in ipairs(methods) do
    env = env or (m[4] and env_id(m[4]))
  end
  local uv, seen = {}, {}
  local index = {}
  for _, m in ipairs(methods) do
    if m[4] then
      collect(m[4], env, uv, seen)
    end
    index[m[2] .. "." .. m[3]] = m
  end

  seen = {}
  for id = 5, #patch do
    local m = patch[id]
    local key = m[2] .. "." .. m[3]
    local target = index[key]
    if target == nil then
      error("Patch mismatch " .. key, 0)
    end
    join(m[4], env, uv, seen)
  end
  local fix = patch[3][4]
  if fix then
    join(fix, env, uv, seen)
  end
  -- Replace only once every method matched, so a mismatch leaves the service unchanged.
  for id = 5, #patch do
    local m = patch[id]
    index[m[2] .. "." .. m[3]][4] = m[4]
  end
  if fix then
    return fix(...)
  end
end
