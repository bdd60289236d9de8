-- See circa.lua.
require "mods.circa"
return {}
