#include "core/dispatch_turn.hpp"

#include <utility>
#include <vector>

#include "core/context.hpp"

namespace starling::dispatch_turn {

namespace {

struct pending {
  void (*done)(void*);
  void* owner;
};

// What a turn may hold back is for at most this many messages of a worker that is never idle.
constexpr unsigned max_dispatches_per_turn = 32;

thread_local context* current = nullptr;
thread_local const std::atomic<bool>* next_occupied = nullptr;
thread_local std::vector<pending> at_turn_end;
thread_local unsigned dispatches = 0;

}  // namespace

bool goes_on() noexcept {
  if (current == nullptr) return false;
  return current->inbox().length_hint() > 0 ||
         (next_occupied != nullptr && next_occupied->load(std::memory_order_relaxed));
}

void at_end(void (*done)(void* owner), void* owner) {
  for (const pending& p : at_turn_end) {
    if (p.done == done && p.owner == owner) return;
  }
  at_turn_end.push_back(pending{done, owner});
}

void end() {
  dispatches = 0;
  if (at_turn_end.empty()) return;
  // A hook may register again (its own next turn): run what was there when this started.
  std::vector<pending> due;
  due.swap(at_turn_end);
  for (const pending& p : due)
    p.done(p.owner);
  due.clear();
  if (at_turn_end.empty()) at_turn_end.swap(due);  // keeps the capacity
}

void after_dispatch() {
  if (++dispatches >= max_dispatches_per_turn) end();
}

void set_worker(const std::atomic<bool>* occupied) noexcept {
  next_occupied = occupied;
}

void set_current(context* target) noexcept {
  current = target;
}

}  // namespace starling::dispatch_turn
