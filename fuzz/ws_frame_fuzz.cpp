// Decodes arbitrary bytes as a stream of WebSocket frames (net/http_wire): a frame is complete
// only with all its bytes, a payload never passes the limit, and re-encoding a decoded frame
// (with the same mask rule) decodes to the same frame.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "net/http_wire.hpp"

namespace ws = starling::net::ws;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "ws_frame_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input
}

constexpr std::size_t limit = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool need_mask = (data[0] & 1) != 0;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  while (!bytes.empty()) {
    ws::frame f;
    std::size_t used = 0;
    const ws::decoded d = ws::decode(bytes, limit, need_mask, f, used);
    if (d != ws::decoded::complete) break;
    if (used == 0 || used > bytes.size()) fail("used out of range");
    if (f.payload.size() > limit) fail("payload over the limit");
    // a prefix of a complete frame is incomplete
    ws::frame g;
    std::size_t g_used = 0;
    if (ws::decode(bytes.substr(0, used - 1), limit, need_mask, g, g_used) !=
        ws::decoded::incomplete) {
      fail("a cut frame decoded");
    }
    const std::string again = ws::encode(
        f.op, f.payload, need_mask ? std::optional<std::uint32_t>(0x5a5a5a5a) : std::nullopt);
    if (f.fin) {
      if (ws::decode(again, limit, need_mask, g, g_used) != ws::decoded::complete ||
          g.payload != f.payload || g.op != f.op || g_used != again.size()) {
        fail("re-encoded frame differs");
      }
    }
    bytes.remove_prefix(used);
  }
  return 0;
}
