#pragma once
// A service's turn on a worker: the messages a worker dispatches for one service before it
// moves on. Work that is cheaper done once per turn than once per message (the socket layer
// writes a turn's replies to one socket with one syscall) registers to run when the turn ends.
// Thread contract: everything here is about the calling thread only.

namespace starling {

class context;

namespace dispatch_turn {

/// True while this thread dispatches a message of a service that has more messages queued:
/// the turn goes on, so work held back now will not wait for long.
[[nodiscard]] bool goes_on() noexcept;

/// Runs `done(owner)` when this thread's current turn ends (once, however often it is asked
/// with the same pair during one turn).
void at_end(void (*done)(void* owner), void* owner);

/// Ends this thread's turn: runs what at_end registered, in order. The scheduler calls it when
/// a worker leaves a service.
void end();

/// After each dispatch: ends the turn when the mailbox is empty, or after a bounded number of
/// messages, so that a service that is never idle still lets its held work go.
void after_dispatch(bool mailbox_empty);

/// The node marks the message being dispatched (nullptr after it).
void set_current(context* target) noexcept;

}  // namespace dispatch_turn
}  // namespace starling
