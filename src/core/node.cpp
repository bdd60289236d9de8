#include "core/node.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <utility>

#include "base/clock.hpp"
#include "core/cpu_meter.hpp"
#include "core/dispatch_turn.hpp"
#include "core/malloc_policy.hpp"
#include "core/socket_message.hpp"

namespace starling {

namespace {

constexpr std::uint64_t ns_per_tick = 10'000'000;

}  // namespace

node::node(node_options options, const module_registry& modules, environment& env)
    : options_(options),
      modules_(modules),
      env_(env),
      handles_(options.harbor),
      scheduler_(options.threads, *this),
      timer_(
          [this](handle_t target, std::int32_t session) {
            message expired{0, session, ptype::response, {}};
            deliver(target, expired);
          },
          [this](std::uint64_t deadline) {
            return scheduler_.timers_covered(deadline) && started_.load(std::memory_order_relaxed);
          }),
      trimmer_([this](handle_t h) { return queue_length(h); }),
      start_mono_ns_(monotonic_ns()) {
  apply_malloc_policy();
  const auto wall = wall_clock_ns().count();
  start_seconds_ = wall / 1'000'000'000;
  // skynet.now() starts at the wall clock's centiseconds, so starttime + now/100 is wall time.
  start_centis_ = (wall / static_cast<std::int64_t>(ns_per_tick)) % 100;
}

node::~node() {
  trimmer_.stop();
  scheduler_.stop();
  timer_.stop();
  if (stall_monitor_) stall_monitor_->stop();
  // Services are released while the node is still whole: their destructors may use it.
  for (auto& ctx : handles_.retire_all())
    ctx->mark_retired();
  while (!parts_.empty())
    parts_.pop_back();
}

void node::attach(std::shared_ptr<void> part) {
  parts_.push_back(std::move(part));
}

void node::start() {
  started_.store(true);
  scheduler_.start();
  stall_monitor_ = std::make_unique<stall_monitor>(
      scheduler_.probes(), options_.stall_interval,
      [this](handle_t source, handle_t dest, std::uint32_t version) {
        if (auto ctx = handles_.grab(dest)) ctx->mark_endless();
        log(0, fmt::format("error: A message from [ {} ] to [ {} ] maybe in an endless loop "
                           "(version = {})",
                           format_handle(source), format_handle(dest), version));
      });
}

void node::wait() {
  {
    mutex_lock lock(shutdown_mutex_);
    while (handles_.live() != 0)
      lock.wait(shutdown_cv_);
  }
  scheduler_.stop();
  timer_.stop();
  if (stall_monitor_) stall_monitor_->stop();
}

void node::abort() {
  logger_.store(0);
  for (auto& ctx : handles_.retire_all()) {
    ctx->mark_retired();
    message_queue left = ctx->inbox().close();
    message msg;
    while (left.pop(msg))
      bounce(ctx->handle(), msg);
  }
  scoped_lock lock(shutdown_mutex_);
  shutdown_cv_.notify_all();
}

// ---- services ------------------------------------------------------------------------

handle_t node::launch(std::string_view module, std::string_view param) {
  std::string why;
  std::unique_ptr<service> instance = modules_.create(module, why);
  if (!instance) {
    fmt::print(stderr, "try open {} failed : {}\n", module, why);
    return 0;
  }
  auto ctx = std::make_shared<context>(*this, std::move(instance), std::string(module),
                                       std::string(param));
  const handle_t h = handles_.insert(ctx);
  bool ok = false;
  try {
    ok = ctx->instance().init(*ctx, param);
  } catch (const std::exception& e) {
    log(h, fmt::format("error: {}", e.what()));
  }
  if (!ok) {
    log(h, fmt::format("error: launch {} FAILED", module));
    retire(h);
    return 0;
  }
  log(h, fmt::format("LAUNCH {} {}", module, param));
  if (ctx->inbox().activate()) scheduler_.schedule(std::move(ctx));
  return h;
}

handle_t node::launch(std::string_view line) {
  const auto [module, param] = split_command_line(line);
  return launch(module, param);
}

std::shared_ptr<context> node::grab(handle_t h) const {
  return handles_.grab(h);
}

std::optional<std::size_t> node::queue_length(handle_t h) const {
  std::optional<std::size_t> length;
  handles_.visit(h, [&](context& target) { length = target.inbox().length_hint(); });
  return length;
}

void node::kill(handle_t killer, handle_t target) {
  log(killer, fmt::format("KILL {}", format_handle_short(target)));
  notify_exit_monitor(target);
  retire(target);
}

void node::exit(handle_t self) {
  log(self, "KILL self");
  notify_exit_monitor(self);
  retire(self);
}

void node::notify_exit_monitor(handle_t retired) {
  if (handle_t monitor = exit_monitor_.load(); monitor != 0) {
    send(retired, monitor, ptype::client, 0, {});
  }
}

void node::retire(handle_t h) {
  std::shared_ptr<context> ctx = handles_.retire(h);
  if (!ctx) return;
  handle_t expected = h;
  logger_.compare_exchange_strong(expected, 0);
  ctx->mark_retired();
  shutdown_.forget(h);
  message_queue left = ctx->inbox().close();
  message msg;
  while (left.pop(msg))
    bounce(h, msg);
  if (handles_.live() == 0) {
    scoped_lock lock(shutdown_mutex_);
    shutdown_cv_.notify_all();
  }
}

// ---- names ---------------------------------------------------------------------------

bool node::bind_name(std::string_view name, handle_t h) {
  if (!handles_.bind_name(name, h)) return false;
  if (name == "logger") logger_.store(h);
  return true;
}

std::optional<handle_t> node::find_name(std::string_view name) const {
  return handles_.find_name(name);
}

bool node::set_remote_router(std::shared_ptr<remote_router> router) {
  scoped_lock lock(globals_mutex_);
  if (router_owner_ || !router) return false;
  router_owner_ = std::move(router);
  router_.store(router_owner_.get());
  return true;
}

bool node::register_global(std::string_view name, handle_t h) {
  std::vector<parked_message> waiting;
  {
    scoped_lock lock(globals_mutex_);
    if (!globals_.try_emplace(std::string(name), h).second) {
      log(h, fmt::format("error: global name {} is already registered", name));
      return false;
    }
    if (auto it = parked_.find(std::string(name)); it != parked_.end()) {
      waiting = std::move(it->second);
      parked_.erase(it);
    }
  }
  for (parked_message& m : waiting)
    send(m.source, h, m.type, m.session, std::move(m.data));
  return true;
}

std::optional<handle_t> node::resolve(std::string_view address) const {
  if (address.empty()) return std::nullopt;
  if (address[0] == ':') return parse_handle(address);
  if (address[0] == '.') return find_name(address.substr(1));
  scoped_lock lock(globals_mutex_);
  auto it = globals_.find(std::string(address));
  if (it == globals_.end()) return std::nullopt;
  return it->second;
}

// ---- messages ------------------------------------------------------------------------

bool node::send(handle_t source, handle_t dest, ptype type, std::int32_t session, payload data) {
  if (dest == 0) {
    if (!data.empty()) log(source, "error: Destination address can't be 0");
    return false;
  }
  if (const std::uint32_t harbor = harbor_of(dest); harbor != 0 && harbor != options_.harbor) {
    if (remote_router* router = router_.load(std::memory_order_acquire)) {
      router->send_remote(source, dest, type, session, std::move(data));
    } else {
      drop_remote(source, dest, session, data.size());
    }
    return true;
  }
  message msg{source, session, type, std::move(data)};
  return deliver(dest, msg);
}

bool node::send(handle_t source, std::string_view address, ptype type, std::int32_t session,
                payload data) {
  if (address.empty()) return false;
  if (address[0] == ':' || address[0] == '.') {
    std::optional<handle_t> dest = resolve(address);
    return dest && send(source, *dest, type, session, std::move(data));
  }
  if (remote_router* router = router_.load(std::memory_order_acquire)) {
    router->send_global(source, address, type, session, std::move(data));
    return true;
  }
  mutex_lock lock(globals_mutex_);
  if (auto it = globals_.find(std::string(address)); it != globals_.end()) {
    const handle_t dest = it->second;
    lock.unlock();
    // A global name outlives its owner: a send to a dead owner is silently lost.
    send(source, dest, type, session, std::move(data));
    return true;
  }
  parked_[std::string(address)].push_back(parked_message{source, type, session, std::move(data)});
  return true;
}

bool node::deliver(handle_t dest, message& msg) {
  // The pin keeps the target alive for the push; a reference is taken only when the push
  // makes it runnable, so a send to a busy service touches no reference count.
  std::shared_ptr<context> runnable;
  mailbox::push_outcome out;
  const bool live = handles_.visit(dest, [&](context& target) {
    out = target.inbox().push(msg);
    if (out.result == mailbox::push_result::schedule) runnable = target.shared_from_this();
  });
  if (!live) return false;
  if (runnable) scheduler_.schedule(std::move(runnable));
  switch (out.result) {
    case mailbox::push_result::queued:
    case mailbox::push_result::schedule:
      if (out.overload != 0) {
        log(dest, fmt::format("error: May overload, message queue length = {}", out.overload));
        trimmer_.watch(dest);  // what the flood takes is given back once it has drained
      }
      break;
    case mailbox::push_result::closed:
      // Retiring waits for pins before it closes the mailbox, so this needs a mailbox closed
      // some other way; answer as for any dead service.
      bounce(dest, msg);
      break;
    case mailbox::push_result::full:
      refuse(dest, msg, out.refused);
      break;
  }
  return true;
}

void node::refuse(handle_t full, message& msg, std::size_t refused) {
  // Once per power of two: a flood past the limit logs a few lines, not one per message.
  if ((refused & (refused - 1)) == 0) {
    log(full,
        fmt::format("error: mailbox full, {} message(s) refused since it was last empty", refused));
  }
  // A session-0 error would tell the sender that the service is gone; only a call is answered.
  if (msg.source != 0 && msg.session != 0) send(full, msg.source, ptype::error, msg.session, {});
}

void node::bounce(handle_t dead, message& msg) {
  release_socket_buffer(msg);
  if (msg.source != 0) send(dead, msg.source, ptype::error, msg.session, {});
}

void node::drop_remote(handle_t source, handle_t dest, std::int32_t session, std::size_t size) {
  log(harbor_service_.load(),
      fmt::format("Drop message to harbor {} from {:x} to {:x} (session = {}, msgsz = {})",
                  harbor_of(dest), source, dest, session, size));
  if (source != 0) send(dest, source, ptype::error, session, {});
}

// ---- time ----------------------------------------------------------------------------

void node::timeout(handle_t h, std::int64_t delay, std::int32_t session) {
  if (delay <= 0) {
    message expired{0, session, ptype::response, {}};
    deliver(h, expired);
    return;
  }
  timer_.add(monotonic_ns() + static_cast<std::uint64_t>(delay) * ns_per_tick, h, session);
}

std::int64_t node::now() const noexcept {
  return start_centis_ + static_cast<std::int64_t>((monotonic_ns() - start_mono_ns_) / ns_per_tick);
}

// ---- logging -------------------------------------------------------------------------

void node::log(handle_t source, std::string_view text) {
  if (handle_t logger = logger_.load(std::memory_order_relaxed); logger != 0) {
    send(source, logger, ptype::text, 0, payload::copy_of(text));
  }
}

// ---- dispatch (worker threads) -------------------------------------------------------

void node::dispatch(context& target, message& msg) {
  if (target.retired()) {
    // Left in the worker's batch when the mailbox closed (mailbox::close).
    bounce(target.handle(), msg);
    return;
  }
  if (target.messages_log().active()) target.messages_log().write(msg, now());
  const std::uint64_t start = options_.profile ? cpu_meter::local().begin() : 0;
  target.begin_message(start);
  dispatch_turn::set_current(&target);
  try {
    target.instance().dispatch(target, msg);
  } catch (const std::exception& e) {
    log(target.handle(), fmt::format("error: {}", e.what()));
  }
  dispatch_turn::set_current(nullptr);
  dispatch_turn::after_dispatch();
  if (options_.profile) cpu_meter::local().charge(target, start);
  target.end_message();
}

void node::between_batches() {
  if (timer_.due(monotonic_ns())) timer_.fire_due(timer::firer::skip);
}

void node::after_wait() {
  if (timer_.due(monotonic_ns())) timer_.fire_due(timer::firer::wait);
}

}  // namespace starling
