#include "core/scheduler.hpp"

#include <algorithm>
#include <thread>
#include <utility>

#include "base/clock.hpp"
#include "base/spinlock.hpp"
#include "base/thread_safety.hpp"
#include "core/cpu_meter.hpp"
#include "core/dispatch_turn.hpp"

namespace starling {

namespace {

// How many empty polls an idle worker makes before sleeping: about 20-50 us, long enough
// to catch the reply of a call in flight, short enough to leave an idle node idle.
constexpr int spin_polls = 2000;
// Polls between two looks at the other workers' next slots (a few microseconds).
constexpr int steal_every = 16;
// Every this many batches a worker serves the shared queue before its own next slot, so two
// services calling each other on one worker cannot starve the rest.
constexpr unsigned fairness_period = 8;

/// The scheduler and slot of the worker running on this thread, if any.
struct worker_identity {
  const void* owner = nullptr;
  next_slots::slot* slot = nullptr;
};
thread_local worker_identity this_worker;

}  // namespace

scheduler::scheduler(int workers, dispatcher& node)
    : node_(node),
      probes_(static_cast<std::size_t>(workers)),
      slots_(static_cast<std::size_t>(workers)),
      idle_(queue_, slots_, node) {}

scheduler::~scheduler() {
  stop();
}

int scheduler::weight_of(int index) noexcept {
  if (index < 4) return -1;
  if (index < 8) return 0;
  if (index < 16) return 1;
  if (index < 24) return 2;
  if (index < 32) return 3;
  return 0;
}

void scheduler::start() {
  for (std::size_t i = 0; i < probes_.size(); ++i) {
    threads_.emplace_back([this, i] { work(static_cast<int>(i)); });
  }
}

void scheduler::stop() {
  if (!idle_.stop()) return;
  for (std::thread& t : threads_)
    t.join();
  threads_.clear();
  slots_.clear();
  queue_.clear();
}

void scheduler::schedule(std::shared_ptr<context> target) {
  if (this_worker.owner == this) {
    std::shared_ptr<context> displaced = slots_.fill(*this_worker.slot, std::move(target));
    if (!displaced) {
      idle_.slot_filled();
      return;
    }
    // The slot held another service: that one goes to the shared queue.
    push_shared(std::move(displaced));
    return;
  }
  idle_.note_arrival();
  push_shared(std::move(target));
}

void scheduler::push_shared(std::shared_ptr<context> target) {
  const run_queue::wake who = queue_.push(std::move(target));
  if (who != run_queue::wake::none) idle_.wake(who);
}

bool scheduler::others_dispatching(int index) const noexcept {
  for (std::size_t i = 0; i < probes_.size(); ++i) {
    if (static_cast<int>(i) != index && probes_[i].dispatching()) return true;
  }
  return false;
}

// ---- a worker with work ---------------------------------------------------------------

std::shared_ptr<context> scheduler::pick_ready(next_slots::slot& own, turns& turn,
                                               bool current_has_work) {
  // The shared queue's turn, which comes every fairness_period batches of the slot's, is as
  // long as theirs: a service waiting there (10,000 timeouts due in one) must not get one
  // message in nine beside a conversation that keeps the next slot busy, and the slot must
  // not wait for a shared queue that never empties either.
  if (turn.shared_left > 0) {
    --turn.shared_left;
    if (std::shared_ptr<context> next = queue_.try_pop()) return next;
    if (current_has_work) return nullptr;  // the service the turn took goes on
    turn.shared_left = 0;
  } else if (++turn.batches % fairness_period == 0) {
    node_.between_batches();
    idle_.poll_if_due();
    if (std::shared_ptr<context> next = queue_.try_pop()) {
      turn.shared_left = fairness_period - 1;
      return next;
    }
  }
  std::shared_ptr<context> next = slots_.take(own);
  if (!next) next = queue_.try_pop();
  return next;
}

bool scheduler::dispatch_batch(worker_probe& probe, context& target, int weight, message& msg) {
  std::size_t remaining = 0;
  if (!target.inbox().pop(msg, remaining)) return false;
  std::size_t batch = weight < 0 ? 1 : std::max<std::size_t>(1, remaining >> weight);
  for (;;) {
    probe.begin(msg.source, target.handle());
    node_.dispatch(target, msg);
    probe.end();
    msg.data.reset();
    if (--batch == 0) return true;
    if (!target.inbox().pop(msg, remaining)) return false;
  }
}

void scheduler::work(int index) {
  use_precise_timers();  // a waiting worker fires the next timer itself
  next_slots::slot& own = slots_.of(index);
  this_worker = worker_identity{this, &own};
  dispatch_turn::set_worker(&own.occupied());
  worker_probe& probe = probes_[static_cast<std::size_t>(index)];
  const int weight = weight_of(index);
  std::shared_ptr<context> current;
  message msg;
  turns turn;
  while (!idle_.stopping()) {
    if (!current) {
      current = pick_ready(own, turn, false);
      if (!current) {
        dispatch_turn::end();  // no more work: what the turn held goes before the worker waits
        current = take(index);
      }
      if (!current) continue;
    }
    if (!dispatch_batch(probe, *current, weight, msg)) {
      current.reset();  // empty: it left the run queue inside pop()
      continue;
    }
    if (std::shared_ptr<context> next = pick_ready(own, turn, true)) {
      // Requeue the current service only if it has work left: an empty one would just send
      // another worker to find nothing. It waits in this worker's own slot when that is free,
      // so two services in conversation alternate on one core; another worker takes it from
      // there if this one gets stuck in a long dispatch.
      if (!current->inbox().release_if_empty() && !slots_.stash(own, current)) {
        push_shared(std::move(current));
      }
      current = std::move(next);
    }
  }
  dispatch_turn::end();
  cpu_meter::local().settle();  // lets go of the services the last window held
  this_worker = worker_identity{};
}

// ---- a worker out of work -------------------------------------------------------------

std::shared_ptr<context> scheduler::take(int index) {
  // Spinning and waiting belong to no service, and burn CPU at another rate than messages
  // (a spinner yields its core, a sleeper burns none): the CPU meter's window ends here and a
  // new one starts when the worker runs again, so they do not skew its share-out.
  cpu_meter& meter = cpu_meter::local();
  meter.pause();
  if (std::shared_ptr<context> next = spin(index)) {
    meter.resume();
    return next;
  }
  idle_workers::last_wait last;
  while (!idle_.stopping()) {
    std::shared_ptr<context> next;
    if (idle_.take_lead(last)) {
      if (idle_.lead(next, last)) next = look_after_wait(index, true);
    } else if (!idle_.sleep(next, last)) {
      return next;  // work from the queue, or null: stopping
    } else {
      next = look_after_wait(index, false);
    }
    if (next) {
      meter.resume();
      return next;
    }
  }
  return nullptr;
}

std::shared_ptr<context> scheduler::spin(int index) {
  // One spinner per node: a second one would find nothing the first does not, and on a
  // machine shared with other nodes it takes a core from whoever produces the next message.
  const int polls = queue_.begin_spin() ? spin_polls : 0;
  std::shared_ptr<context> next;
  for (int i = 0; i < polls && !next && !idle_.stopping(); ++i) {
    next = queue_.try_pop();
    if (!next && i % steal_every == steal_every - 1) {
      // Work that comes soon comes from a worker of this node that is dispatching, or from
      // outside the dispatches (a packet, a timer) just after some came: a stream of packets
      // keeps coming. Otherwise spinning would only take the CPU from whoever produces the
      // next message, another node on the same machine included.
      if (!others_dispatching(index) && !idle_.arrivals_recent()) break;
      node_.between_batches();
      idle_.poll_now();
      // Spinning is for a spare core: where another thread waits for this one (another node on
      // the same machine), it runs first.
      std::this_thread::yield();
      // What a timer or a packet just made runnable waits in our own slot.
      next = slots_.take(slots_.of(index));
      if (!next) next = slots_.steal_stale(index, probes_);
    }
    if (!next) cpu_relax();
  }
  queue_.end_spin();
  return next;
}

std::shared_ptr<context> scheduler::look_after_wait(int index, bool after_poll) {
  // Fire what is due first: delivering may make a service runnable in our own slot.
  node_.after_wait();
  std::shared_ptr<context> next = slots_.take(slots_.of(index));
  if (!next && after_poll) next = queue_.try_pop();
  if (!next) next = slots_.steal_stale(index, probes_);
  return next;
}

}  // namespace starling
