-- sprotoloader: schemas kept in the process-wide slots 0..15 of sproto.core, so that one service
-- parses a schema and every other service loads it (docs/LIBRARIES.md, "sproto"). Same API as
-- skynet's lualib/sprotoloader.lua.
local parser = require "sprotoparser"
local core = require "sproto.core"
local sproto = require "sproto"

local loader = {}

-- Parses the schema file `filename` into slot `index` (default 0).
function loader.register(filename, index)
	local f = assert(io.open(filename), "Can't open sproto file")
	local text = f:read "a"
	f:close()
	core.saveproto(core.newproto(parser.parse(text)), index)
end

-- Puts the bundle `bin` in slot `index` (default 0); an invalid bundle empties the slot.
function loader.save(bin, index)
	core.saveproto(core.newproto(bin), index)
end

-- The schema of slot `index` (default 0). The slot keeps it alive: the object has no __gc.
function loader.load(index)
	return sproto.sharenew(core.loadproto(index))
end

return loader
