// Feeds arbitrary byte streams to the gate framing (net/netpack), cut into arbitrary reads over
// a few connections with closes in between, and checks every result against a trivial
// reference decoder that keeps each connection's unparsed bytes in a string.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "net/netpack.hpp"

namespace net = starling::net;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "netpack_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input
}

using packet_text = std::pair<std::int32_t, std::string>;

// The obvious decoder: buffer everything, cut whole frames off the front.
struct reference {
  std::map<std::int32_t, std::string> unparsed;

  std::vector<packet_text> feed(std::int32_t id, const std::string& bytes) {
    std::string& buffer = unparsed[id];
    buffer += bytes;
    std::vector<packet_text> out;
    std::size_t at = 0;
    while (buffer.size() - at >= 2) {
      const std::size_t length =
          (static_cast<std::size_t>(static_cast<std::uint8_t>(buffer[at])) << 8) |
          static_cast<std::uint8_t>(buffer[at + 1]);
      if (buffer.size() - at - 2 < length) break;
      out.emplace_back(id, buffer.substr(at + 2, length));
      at += 2 + length;
    }
    buffer.erase(0, at);
    return out;
  }
  [[nodiscard]] bool has_pending(std::int32_t id) const {
    const auto it = unparsed.find(id);
    return it != unparsed.end() && !it->second.empty();
  }
  [[nodiscard]] std::size_t pending() const {
    std::size_t n = 0;
    for (const auto& [id, bytes] : unparsed)
      n += bytes.empty() ? 0 : 1;
    return n;
  }
};

packet_text text_of(const net::packet& p) {
  return {p.id, std::string(p.data.view())};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  net::frame_queue queue;
  reference ref;
  std::deque<packet_text> expected_queue;  // packets the queue should hold, in order
  while (in.remaining_bytes() > 0) {
    const auto id = static_cast<std::int32_t>(in.ConsumeIntegralInRange<int>(1, 3));
    const auto op = in.ConsumeIntegralInRange<int>(0, 15);
    if (op == 0) {  // the connection closed: its partial frame goes
      queue.discard(id);
      ref.unparsed.erase(id);
    } else if (op == 1) {  // the application drains the queue
      while (std::optional<net::packet> p = queue.pop()) {
        if (expected_queue.empty() || text_of(*p) != expected_queue.front()) {
          fail("popped a packet the reference did not queue");
        }
        expected_queue.pop_front();
      }
      if (!expected_queue.empty()) fail("the queue ran dry early");
    } else {
      // A read: a length from the input, or a frame the fuzzer can hardly guess by itself.
      std::string bytes;
      if (op == 2) {
        const std::string body = in.ConsumeRandomLengthString(600);
        const std::optional<starling::payload> frame =
            net::pack(std::as_bytes(std::span(body.data(), body.size())));
        if (!frame) fail("pack refused a short payload");
        bytes = std::string(frame->view());
      } else {
        bytes = in.ConsumeRandomLengthString(1024);
      }
      const std::vector<packet_text> want = ref.feed(id, bytes);
      net::frame_queue::feed_result got =
          queue.feed(id, std::as_bytes(std::span(bytes.data(), bytes.size())));
      if (want.empty()) {
        if (got.what != net::frame_queue::outcome::none) fail("a packet from nowhere");
      } else if (want.size() == 1 && !ref.has_pending(id)) {
        if (got.what != net::frame_queue::outcome::one) fail("one exact packet not handed over");
        if (text_of(got.single) != want.front()) fail("the single packet differs");
      } else {
        if (got.what != net::frame_queue::outcome::more) fail("several packets not queued");
        expected_queue.insert(expected_queue.end(), want.begin(), want.end());
      }
    }
    if (queue.queued() != expected_queue.size()) fail("queue length differs");
    if (queue.pending() != ref.pending()) fail("pending connections differ");
  }
  queue.clear();
  if (queue.queued() != 0 || queue.pending() != 0) fail("clear left something");
  return 0;
}
