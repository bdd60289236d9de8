-- skynet.mailbox: Starling's opt-in mailbox limit for the calling service (not in skynet).
--
--   local mailbox = require "skynet.mailbox"
--   mailbox.limit(1000)   -- refuse requests while 1000 messages are queued; 0 lifts it
--
-- Past the limit a skynet.call to this service fails at once ("call failed" in the caller),
-- a skynet.send is dropped, and the service logs "mailbox full" (once per power of two).
-- Replies, errors and socket messages always get in (docs/DESIGN.md, "Mailboxes").
local core = require "skynet.core"

local mailbox = {}

-- Sets the limit (with an argument) and returns the one in effect.
function mailbox.limit(length)
  if length ~= nil and (math.type(length) ~= "integer" or length < 0) then
    error("mailbox.limit: a non-negative integer expected, got " .. tostring(length), 2)
  end
  return math.tointeger(core.intcommand("MQLIMIT", length))
end

return mailbox
