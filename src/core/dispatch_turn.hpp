#pragma once
// A worker's turn: the messages a worker dispatches, for one service or for several taking
// turns on it (two services in conversation), before it runs out of work. Work that is cheaper
// done once per turn than once per message (the socket layer writes a turn's replies to one
// socket with one syscall) registers to run when the turn ends.
// Thread contract: everything here is about the calling thread only.

#include <atomic>

namespace starling {

class context;

namespace dispatch_turn {

/// True while this thread dispatches a message and has more to dispatch after it (the service
/// has more queued, or another waits in the worker's next slot): the turn goes on, so work
/// held back now will not wait for long.
[[nodiscard]] bool goes_on() noexcept;

/// Runs `done(owner)` when this thread's current turn ends (once, however often it is asked
/// with the same pair during one turn).
void at_end(void (*done)(void* owner), void* owner);

/// Ends this thread's turn: runs what at_end registered, in order. The scheduler calls it when
/// a worker finds no more work, before it waits.
void end();

/// After each dispatch: ends the turn after a bounded number of messages, so that a worker
/// that is never idle still lets its held work go.
void after_dispatch();

/// The scheduler tells each worker thread where its next slot says "occupied".
void set_worker(const std::atomic<bool>* next_occupied) noexcept;

/// The node marks the message being dispatched (nullptr after it).
void set_current(context* target) noexcept;

}  // namespace dispatch_turn
}  // namespace starling
