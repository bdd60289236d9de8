-- Calls the standard library at top level: a client parses it only with snax_interface_g.
local greeting = string.format("%s %s", "hello", "world")

function response.greeting()
  return greeting
end
