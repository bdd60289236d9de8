#pragma once
// skynet.debugchannel: the C side of the remote debugger (lualib/skynet/remotedebug.lua).
//
// create() -> channel, id       a command channel; the id crosses services in a message
// connect(id) -> channel        the other end (once per channel); "new channel failed" else
// channel:write(text)           queues one command line
// channel:read() -> text | nil  the oldest queued line, never waiting
// sethook([co,] f, mask)        like debug.sethook, except that a line hook returning true
// sethook([co])                 suspends the coroutine (it yields nothing to the scheduler,
//                               which leaves it paused); mask letters c, r, l
// dispatch_hook(f | nil)        runs f before every message this service handles
// resume(co) -> bool            resumes a coroutine a line hook paused, as the scheduler would
//
// Channels are found by id in a process-wide table, not by pointer: an id that names no
// channel (its creator has gone) is an error, never a dangling read.

#include <lua.hpp>

namespace starling::lua {

int open_debugchannel(lua_State* L);

}  // namespace starling::lua
