// Feeds arbitrary response bodies, and bodies built from the input so that the parts of a few
// split replies meet, to the cluster response decoder (net/cluster_wire) and the response
// assembler. Checks that whatever decodes stays inside its body and encodes back to the same
// bytes, and that the assembler agrees with a plain reference that keeps every piece in a
// string and judges each reply only when it ends. An overflow is a closed connection: both
// start over. Also encodes a random reply and rebuilds it from its frames.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "cluster_reference.hpp"
#include "net/cluster_wire.hpp"

namespace cluster = starling::net::cluster;

namespace {

using starling::fuzz::bytes_of;
using starling::fuzz::fail;
using starling::fuzz::put_u32;
using starling::fuzz::text_of;
constexpr auto limits = starling::fuzz::cluster_limits;

using kind = cluster::response_part::kind;
using status = cluster::response_assembler::outcome::status;

// A body of a chosen type with small sessions, so that parts of one reply meet.
std::string crafted_body(FuzzedDataProvider& in) {
  std::string body;
  put_u32(body, in.ConsumeIntegralInRange<std::uint32_t>(0, 3));
  const auto type = in.ConsumeIntegralInRange<std::uint8_t>(0, 5);
  body.push_back(static_cast<char>(type));
  if (type == 2) {
    put_u32(body, in.ConsumeIntegralInRange<std::uint32_t>(0, 4000));
    return body;
  }
  return body + in.ConsumeRandomLengthString(1200);
}

// The single frame (of an error or a whole ok reply) or begin frame that `part` came from.
void check_reencode(const cluster::response_part& part, const std::string& body) {
  if (part.type == kind::piece || part.type == kind::end) return;  // only in a split reply
  if (part.type == kind::begin) {
    std::string expected;
    put_u32(expected, part.session);
    expected.push_back(2);
    put_u32(expected, part.total);
    if (expected != body) fail("a begin is not its session and total");
    return;
  }
  const auto frames =
      cluster::response_frames::make(part.session, part.type == kind::ok, part.data);
  if (!frames || frames->count() != 1) fail("a short reply does not encode to one frame");
  std::string frame(frames->size(0), '\0');
  frames->write(0, std::as_writable_bytes(std::span(frame.data(), frame.size())));
  if (frame.substr(cluster::length_size) != body) fail("decoded and encoded again, it differs");
}

using reference = starling::fuzz::reassembly_reference;

void feed(cluster::response_assembler& assembler, reference& ref,
          const cluster::response_part& part) {
  const std::string data = text_of(part.data);
  bool expect_overflow = false;
  if (part.type == kind::begin) expect_overflow = ref.full(part.session);
  if (part.type == kind::piece) {
    expect_overflow = ref.full(part.session) || ref.over_budget(part.session, data.size());
  }
  if ((part.type == kind::ok || part.type == kind::end) && ref.entries.contains(part.session)) {
    expect_overflow = ref.over_budget(part.session, data.size());
  }
  const cluster::response_assembler::outcome got = assembler.feed(part);
  if (expect_overflow != (got.what == status::overflow)) fail("overflow disagrees");
  if (expect_overflow) {  // the connection closes
    assembler.clear();
    ref.entries.clear();
    return;
  }
  if (got.what != status::pending && got.session != part.session) fail("another session");
  switch (part.type) {
    case kind::begin: {
      reference::entry& e = ref.entries[part.session];
      if (++e.headers == 1) e.total = part.total;
      if (got.what != status::pending) fail("a begin ended something");
      break;
    }
    case kind::piece: {
      reference::entry& e = ref.entries[part.session];
      if (e.headers == 0) e.orphan = true;
      e.data += data;
      if (got.what != status::pending) fail("a piece ended something");
      break;
    }
    case kind::error:
      ref.entries.erase(part.session);
      if (got.what != status::error || got.data.view() != data) fail("an error was not passed");
      break;
    case kind::ok:
    case kind::end: {
      const auto it = ref.entries.find(part.session);
      if (it == ref.entries.end()) {
        if (got.what != status::ok || got.data.view() != data) fail("a whole reply was changed");
        break;
      }
      const std::optional<std::string> whole = ref.finish(it, data);
      if (whole.has_value() != (got.what == status::ok)) fail("the verdict on a reply disagrees");
      if (!whole && got.what != status::invalid) fail("a bad reply not reported invalid");
      if (whole && got.data.view() != *whole) fail("a rebuilt reply differs");
      break;
    }
  }
  ref.holds_the_same_as(assembler);
}

void round_trip(FuzzedDataProvider& in) {
  const auto size = in.ConsumeIntegralInRange<std::size_t>(0, 3 * cluster::piece_size);
  const std::string data(size, static_cast<char>(in.ConsumeIntegral<std::uint8_t>()));
  const bool ok = in.ConsumeBool();
  const auto session = in.ConsumeIntegral<std::uint32_t>();
  const auto frames = cluster::response_frames::make(session, ok, bytes_of(data));
  if (!frames) fail("a reply was refused");
  cluster::response_assembler assembler;
  for (std::size_t i = 0; i < frames->count(); ++i) {
    std::string frame(frames->size(i), '\0');
    if (frame.size() > cluster::max_frame_size) fail("a frame past max_frame_size");
    frames->write(i, std::as_writable_bytes(std::span(frame.data(), frame.size())));
    const std::string body = frame.substr(cluster::length_size);  // the part views it
    const auto part = cluster::decode_response(bytes_of(body));
    if (!part) fail("an encoded frame does not decode");
    const cluster::response_assembler::outcome got = assembler.feed(part.value());
    if (i + 1 < frames->count()) {
      if (got.what != status::pending) fail("a reply ended early");
      continue;
    }
    if (got.what != (ok ? status::ok : status::error)) fail("a reply ended wrong");
    // Error texts are cut to one piece.
    const std::string want = ok ? data : data.substr(0, cluster::piece_size);
    if (got.data.view() != want || got.session != session) fail("a reply changed");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  cluster::response_assembler assembler(limits);
  reference ref(limits);
  starling::fuzz::fuzz_bodies(
      in, round_trip, crafted_body, [](auto bytes) { return cluster::decode_response(bytes); },
      [&](const auto& part, const std::string& body) {
        const auto* begin = reinterpret_cast<const std::byte*>(body.data());
        if (!part.data.empty() && (part.data.data() < begin ||
                                   part.data.data() + part.data.size() > begin + body.size())) {
          fail("data outside the body");
        }
        check_reencode(part, body);
        feed(assembler, ref, part);
      });
  return 0;
}
