#include "net/poller.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <system_error>

#include "base/clock.hpp"

namespace starling::net {

namespace {

// The most events taken from one wait (skynet's batch).
constexpr std::size_t batch = 64;

epoll_event make_event(std::uint64_t key, bool read, bool write) {
  epoll_event ev{};
  ev.events = (read ? EPOLLIN : 0U) | (write ? EPOLLOUT : 0U);
  ev.data.u64 = key;
  return ev;
}

}  // namespace

poller::poller() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

bool poller::add(int fd, std::uint64_t key, bool read, bool write) {
  epoll_event ev = make_event(key, read, write);
  return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool poller::modify(int fd, std::uint64_t key, bool read, bool write) {
  epoll_event ev = make_event(key, read, write);
  return ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

void poller::remove(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

int poller::wait(std::span<poll_event> events, std::uint64_t deadline_ns) {
  std::array<epoll_event, batch> raw{};
  const int room = static_cast<int>(std::min(events.size(), raw.size()));
  int n = 0;
  if (deadline_ns == 0 || deadline_ns == UINT64_MAX) {
    n = ::epoll_wait(epoll_.get(), raw.data(), room, deadline_ns == 0 ? 0 : -1);
  } else {
    const std::uint64_t now = monotonic_ns();
    const std::uint64_t left = deadline_ns > now ? deadline_ns - now : 0;
    // epoll_wait's milliseconds would make a timer due in 0.1 ms wait a whole one.
    static std::atomic<bool> precise{true};
    if (precise.load(std::memory_order_relaxed)) {
      const timespec timeout{static_cast<time_t>(left / 1'000'000'000),
                             static_cast<long>(left % 1'000'000'000)};
      n = ::epoll_pwait2(epoll_.get(), raw.data(), room, &timeout, nullptr);
      if (n < 0 && errno == ENOSYS) precise.store(false, std::memory_order_relaxed);
    }
    if (!precise.load(std::memory_order_relaxed)) {
      // Rounded up: waking before the deadline would only make the caller wait again.
      const std::uint64_t ms = std::min<std::uint64_t>((left + 999'999) / 1'000'000, INT32_MAX);
      n = ::epoll_wait(epoll_.get(), raw.data(), room, static_cast<int>(ms));
    }
  }
  if (n <= 0) return 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
    const std::uint32_t flags = raw[i].events;
    events[i] = poll_event{raw[i].data.u64, (flags & EPOLLIN) != 0, (flags & EPOLLOUT) != 0,
                           (flags & EPOLLERR) != 0, (flags & EPOLLHUP) != 0};
  }
  return n;
}

}  // namespace starling::net
