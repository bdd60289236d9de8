-- The snax_interface_g module of tests/lua/cases/snax_options.lua: what clients parse with.
return { require = function() end, string = string }
