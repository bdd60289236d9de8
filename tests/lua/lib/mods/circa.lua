-- circa requires circb, which requires circa again.
require "mods.circb"
return {}
