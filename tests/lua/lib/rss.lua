-- The node's resident set size in bytes (Linux /proc), for the memory-per-reader figures of
-- the shared-data cases.
return function()
  local f = assert(io.open("/proc/self/statm"))
  local _, resident = f:read("n", "n")
  f:close()
  return resident * 4096
end
