#include "net/poller.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <system_error>

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

int poller::wait(std::span<poll_event> events, int timeout_ms) {
  std::array<epoll_event, batch> raw{};
  const int room = static_cast<int>(std::min(events.size(), raw.size()));
  const int n = ::epoll_wait(epoll_.get(), raw.data(), room, timeout_ms);
  if (n <= 0) return 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
    const std::uint32_t flags = raw[i].events;
    events[i] = poll_event{raw[i].data.u64, (flags & EPOLLIN) != 0, (flags & EPOLLOUT) != 0,
                           (flags & EPOLLERR) != 0, (flags & EPOLLHUP) != 0};
  }
  return n;
}

}  // namespace starling::net
