-- The snax_loader of tests/lua/cases/snax_options.lua: serves the snax file "virtual" from a
-- string and searches the snax path for the others; logs each use.
local skynet = require "skynet"

return function(path, name, G)
  skynet.error("snax_loader", name)
  if name == "virtual" then
    return load("function response.where() return 'virtual', SERVICE_PATH end", "=virtual", "t", G),
      "/virtual/?.lua"
  end
  for template in path:gmatch("[^;]+") do
    local f = loadfile((template:gsub("%?", name)), "bt", G)
    if f then
      return f, template
    end
  end
  error("snax_loader: no snax file " .. name)
end
