-- Deterministic test data shared by interop_client and interop_server: payload(n, seed) is n
-- bytes cycling through a 251-byte block (a prime length, so the pattern never lines up with
-- the 32768-byte fragments of the cluster protocol) rotated by seed.
local bytes = {}
for i = 0, 250 do
  bytes[#bytes + 1] = string.char((i * 7 + 13) % 256)
end
local block = table.concat(bytes)

return function(n, seed)
  local r = seed % #block
  local rotated = block:sub(r + 1) .. block:sub(1, r)
  return string.rep(rotated, n // #block + 1):sub(1, n)
end
