#include "core/context.hpp"

#include <algorithm>
#include <utility>

#include "base/clock.hpp"
#include "core/cpu_meter.hpp"
#include "core/node.hpp"

namespace starling {

context::context(node& owner, std::unique_ptr<service> instance, std::string module,
                 std::string param)
    : owner_(owner),
      instance_(std::move(instance)),
      module_(std::move(module)),
      param_(std::move(param)) {}

std::uint64_t context::current_message_cpu_ns() {
  if (message_start_tick_ == 0) return 0;
  const std::uint64_t cpu = thread_cpu_ns();
  if (message_cpu_base_ == 0) {
    message_cpu_base_ = cpu - std::min(cpu, cpu_meter::local().elapsed_ns(message_start_tick_));
  }
  return cpu - message_cpu_base_;
}

std::int32_t context::new_session() noexcept {
  session_ = session_ == 0x7fffffff ? 1 : session_ + 1;
  return session_;
}

bool context::send(handle_t dest, ptype type, std::int32_t session, payload data) const {
  return owner_.send(handle_, dest, type, session, std::move(data));
}

void context::timeout(std::int64_t delay, std::int32_t session) const {
  owner_.timeout(handle_, delay, session);
}

void context::log(std::string_view text) const {
  owner_.log(handle_, text);
}

void context::exit() const {
  owner_.exit(handle_);
}

}  // namespace starling
