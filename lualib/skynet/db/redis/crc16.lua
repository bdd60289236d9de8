-- CRC-16/XMODEM (polynomial 0x1021, initial value 0, no reflection), the hash Redis Cluster
-- uses to map keys to slots. require returns the function crc16(string) -> 0..65535.

local byte = string.byte

local lookup = {}
for i = 0, 255 do
  local crc = i << 8
  for _ = 1, 8 do
    if crc & 0x8000 ~= 0 then
      crc = ((crc << 1) ~ 0x1021) & 0xffff
    else
      crc = (crc << 1) & 0xffff
    end
  end
  lookup[i] = crc
end

return function(s)
  local crc = 0
  for i = 1, #s do
    crc = ((crc << 8) & 0xffff) ~ lookup[((crc >> 8) ~ byte(s, i)) & 0xff]
  end
  return crc
end
