#include "net/write_queue.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>

#include "net/fd.hpp"

namespace starling::net {
namespace {

using level = write_queue::priority;

/// A non-blocking pipe whose write end takes at most one page before EAGAIN.
struct small_pipe {
  small_pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_NONBLOCK), 0);
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    capacity = ::fcntl(write_end.get(), F_SETPIPE_SZ, 4096);
    EXPECT_GT(capacity, 0);
  }
  std::string drain() {
    std::string out;
    char buffer[8192];
    for (ssize_t n; (n = ::read(read_end.get(), buffer, sizeof buffer)) > 0;)
      out.append(buffer, static_cast<std::size_t>(n));
    return out;
  }
  unique_fd read_end;
  unique_fd write_end;
  int capacity = 0;
};

payload text(const std::string& s) {
  return payload::copy_of(s);
}

TEST(write_queue, low_goes_to_high_when_nothing_is_queued) {
  small_pipe p;
  write_queue q;
  q.push(text("low first "), level::low);   // queue empty: high
  q.push(text("high "), level::high);       // behind it in high
  q.push(text("low second "), level::low);  // queue busy: low
  q.push(text("high again"), level::high);
  EXPECT_EQ(q.bytes(), 36U);
  const auto r = q.flush(p.write_end.get());
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.written, 36U);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(p.drain(), "low first high high againlow second ");
}

TEST(write_queue, partly_written_low_buffer_finishes_before_later_high_ones) {
  small_pipe p;
  write_queue q;
  q.push(text("H1"), level::high);
  q.push(payload::copy_of(std::string(10000, 'L')), level::low);
  auto r = q.flush(p.write_end.get());
  EXPECT_EQ(r.error, 0);
  ASSERT_EQ(r.written, static_cast<std::size_t>(p.capacity)) << "the pipe filled up";
  q.push(text("H2"), level::high);  // must wait for the started low buffer
  std::string got = p.drain();
  while (!q.empty()) {
    r = q.flush(p.write_end.get());
    ASSERT_EQ(r.error, 0);
    got += p.drain();
  }
  EXPECT_EQ(got, "H1" + std::string(10000, 'L') + "H2");
}

TEST(write_queue, gathers_more_buffers_than_one_writev_takes) {
  small_pipe p;
  write_queue q;
  std::string high;
  std::string low;
  for (int i = 0; i < 500; ++i) {
    const std::string piece = std::to_string(i) + ",";
    const bool is_low = i % 3 == 0;
    q.push(text(piece), is_low ? level::low : level::high);
    // The first buffer found the queue empty, so it went to high.
    (is_low && i != 0 ? low : high) += piece;
  }
  ASSERT_LT(q.bytes(), static_cast<std::size_t>(p.capacity)) << "one flush takes it all";
  const auto r = q.flush(p.write_end.get());
  EXPECT_EQ(r.error, 0);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(p.drain(), high + low);
}

TEST(write_queue, push_partial_sends_only_the_rest) {
  small_pipe p;
  write_queue q;
  q.push_partial(text("already sent|rest"), 13);
  EXPECT_EQ(q.bytes(), 4U);
  q.push(text("+next"), level::high);
  while (!q.empty())
    ASSERT_EQ(q.flush(p.write_end.get()).error, 0);
  EXPECT_EQ(p.drain(), "rest+next");
}

TEST(write_queue, empty_buffers_are_not_queued_and_errors_are_reported) {
  small_pipe p;
  write_queue q;
  q.push(payload(), level::high);
  EXPECT_TRUE(q.empty());
  q.push(text("x"), level::high);
  p.read_end.reset();
  std::signal(SIGPIPE, SIG_IGN);  // as the socket server sets it: EPIPE instead of death
  const auto r = q.flush(p.write_end.get());
  EXPECT_EQ(r.error, EPIPE);
  EXPECT_EQ(r.written, 0U);
  EXPECT_EQ(q.bytes(), 1U);
  q.clear();
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace starling::net
