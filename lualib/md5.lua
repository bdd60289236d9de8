-- require "md5": the native md5.core (sum, exor, crypt, decrypt) and two helpers in Lua, as
-- skynet's md5 module has them (docs/LIBRARIES.md).
local core = require "md5.core"

local md5 = {}
for k, v in pairs(core) do md5[k] = v end

local function tohex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- 32 lowercase hex digits of md5.sum(s).
function md5.sumhexa(s)
  return tohex(core.sum(s))
end

-- HMAC-MD5 (RFC 2104) of `data` under `key`, in hex. The data comes first, as in skynet.
local BLOCK = 64
local IPAD, OPAD = string.rep("\x36", BLOCK), string.rep("\x5c", BLOCK)
function md5.hmacmd5(data, key)
  if #key > BLOCK then key = core.sum(key) end
  key = key .. string.rep("\0", BLOCK - #key)
  local inner = core.sum(core.exor(key, IPAD) .. data)
  return tohex(core.sum(core.exor(key, OPAD) .. inner))
end

return md5
