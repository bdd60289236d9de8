// Feeds arbitrary request bodies, and bodies built from the input so that headers and pieces
// of a few sessions meet, to the cluster request decoder (net/cluster_wire) and the request
// assembler. Checks that whatever decodes stays inside its body and encodes back to the same
// bytes, and that the assembler agrees with a plain reference that keeps every piece in a
// string and judges each message only when it ends. An overflow is a closed connection: both
// start over. Also encodes a random request and rebuilds it from its frames.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cluster_reference.hpp"
#include "net/cluster_wire.hpp"

namespace cluster = starling::net::cluster;

namespace {

using starling::fuzz::bytes_of;
using starling::fuzz::fail;
using starling::fuzz::put_u32;
using starling::fuzz::text_of;
constexpr auto limits = starling::fuzz::cluster_limits;

// A body of a chosen kind with small sessions, so that parts of one message meet.
std::string crafted_body(FuzzedDataProvider& in) {
  static constexpr std::uint8_t kinds[] = {0x00, 0x80, 0x01, 0x41, 0x81, 0xc1, 0x02, 0x03, 0x04};
  const std::uint8_t kind = in.PickValueInArray(kinds);
  const auto session = in.ConsumeIntegralInRange<std::uint32_t>(0, 3);
  std::string body(1, static_cast<char>(kind));
  if (kind == 0x02 || kind == 0x03) {
    put_u32(body, session);
    return body + in.ConsumeRandomLengthString(1200);
  }
  if (kind == 0x04) return body + in.ConsumeRandomLengthString(64);
  if ((kind & 0x80) != 0) {
    const std::string name = in.ConsumeRandomLengthString(8);
    body.push_back(static_cast<char>(name.size()));
    body += name;
  } else {
    put_u32(body, in.ConsumeIntegral<std::uint32_t>());
  }
  put_u32(body, session);
  if ((kind & 0x01) != 0) {  // a total the limits allow, or one large enough to split
    put_u32(body, in.ConsumeBool() ? in.ConsumeIntegralInRange<std::uint32_t>(0, 4000)
                                   : in.ConsumeIntegralInRange<std::uint32_t>(32768, 100000));
    return body;
  }
  return body + in.ConsumeRandomLengthString(64);
}

bool inside(std::span<const std::byte> part, const std::string& body) {
  const auto* begin = reinterpret_cast<const std::byte*>(body.data());
  return part.empty() || (part.data() >= begin && part.data() + part.size() <= begin + body.size());
}

// What skynet's sender can produce must come out of our encoder byte for byte (bytes past a
// named header aside, which the decoder ignores).
void check_reencode(const cluster::request_part& part, const std::string& body) {
  using kind = cluster::request_part::kind;
  if (part.type == kind::trace) {
    std::string frame(cluster::trace_size(part.data.size()), '\0');
    if (!cluster::write_trace(text_of(part.data),
                              std::as_writable_bytes(std::span(frame.data(), frame.size())))) {
      fail("a decoded tag does not encode");
    }
    if (frame.substr(cluster::length_size) != body) fail("a trace encodes differently");
    return;
  }
  if (part.type != kind::message && part.type != kind::header) return;
  if (const auto* name = std::get_if<std::string_view>(&part.to); name && name->empty()) return;
  if (part.session > 0x7fffffffU) return;  // sessions skynet never sends
  const bool header = part.type == kind::header;
  if (header && (part.session == 0 || part.total < cluster::piece_size ||
                 part.total > 4 * cluster::piece_size)) {
    return;
  }
  // A header comes back from a payload of its total; the pieces are not compared.
  const std::string filler(header ? part.total : 0, 'x');
  const auto frames = cluster::request_frames::make(
      part.push ? cluster::request_kind::push : cluster::request_kind::call, part.to,
      part.session == 0 ? 1 : static_cast<std::int32_t>(part.session),
      header ? bytes_of(filler) : part.data);
  if (!frames) fail("a decoded request does not encode");
  std::string frame(frames->size(0), '\0');
  frames->write(0, std::as_writable_bytes(std::span(frame.data(), frame.size())));
  const std::string again = frame.substr(cluster::length_size);
  if (header ? body.compare(0, again.size(), again) != 0 : again != body) {
    fail("decoded and encoded again, the body differs");
  }
}

using reference = starling::fuzz::reassembly_reference;

void feed(cluster::request_assembler& assembler, reference& ref,
          const cluster::request_part& part) {
  using kind = cluster::request_part::kind;
  using status = cluster::request_assembler::outcome::status;
  bool expect_overflow = false;
  if (part.type == kind::header) expect_overflow = ref.full(part.session);
  if (part.type == kind::fragment) {
    expect_overflow = ref.full(part.session) || ref.over_budget(part.session, part.data.size());
  }
  if (part.type == kind::last && ref.entries.contains(part.session)) {
    expect_overflow = ref.over_budget(part.session, part.data.size());
  }
  const cluster::request_assembler::outcome got = assembler.feed(part);
  if (expect_overflow != (got.what == status::overflow)) fail("overflow disagrees");
  if (expect_overflow) {  // the connection closes
    assembler.clear();
    ref.entries.clear();
    return;
  }
  switch (part.type) {
    case kind::trace:
      if (got.what != status::pending) fail("a trace did something");
      break;
    case kind::message:
      if (got.what != status::complete || got.message.view() != text_of(part.data)) {
        fail("a whole message did not pass through");
      }
      break;
    case kind::header: {
      reference::entry& e = ref.entries[part.session];
      if (++e.headers == 1) e.total = part.total;
      if (got.what != status::pending) fail("a header ended something");
      break;
    }
    case kind::fragment: {
      reference::entry& e = ref.entries[part.session];
      if (e.headers == 0) e.orphan = true;
      e.data += text_of(part.data);
      if (got.what != status::pending) fail("a piece ended something");
      break;
    }
    case kind::last: {
      const auto it = ref.entries.find(part.session);
      if (it == ref.entries.end()) {
        if (got.what != status::no_header) fail("an orphan last piece was not reported");
        break;
      }
      const std::optional<std::string> whole = ref.finish(it, text_of(part.data));
      if (whole.has_value() != (got.what == status::complete)) {
        fail("the verdict on a message disagrees");
      }
      if (!whole && got.what != status::invalid) fail("a bad message not reported invalid");
      if (whole && got.message.view() != *whole) fail("a rebuilt message differs");
      break;
    }
  }
  ref.holds_the_same_as(assembler);
}

void round_trip(FuzzedDataProvider& in) {
  const auto size = in.ConsumeIntegralInRange<std::size_t>(0, 3 * cluster::piece_size);
  const std::string payload(size, static_cast<char>(in.ConsumeIntegral<std::uint8_t>()));
  const std::string name = in.ConsumeRandomLengthString(300);
  const bool push = in.ConsumeBool();
  const auto session = in.ConsumeIntegral<std::int32_t>();
  cluster::destination to = in.ConsumeIntegral<std::uint32_t>();
  if (in.ConsumeBool()) to = std::string_view(name);
  const auto frames = cluster::request_frames::make(
      push ? cluster::request_kind::push : cluster::request_kind::call, to, session,
      bytes_of(payload));
  const bool named_ok = name.size() >= 1 && name.size() <= cluster::max_name_length;
  if (frames.has_value() !=
      (session > 0 && (std::holds_alternative<std::uint32_t>(to) || named_ok))) {
    fail("make accepts the wrong arguments");
  }
  if (!frames) return;
  cluster::request_assembler assembler;
  for (std::size_t i = 0; i < frames->count(); ++i) {
    std::string frame(frames->size(i), '\0');
    if (frame.size() > cluster::max_frame_size) fail("a frame past max_frame_size");
    frames->write(i, std::as_writable_bytes(std::span(frame.data(), frame.size())));
    const std::string body = frame.substr(cluster::length_size);
    const auto part = cluster::decode_request(bytes_of(body));
    if (!part) fail("an encoded frame does not decode");
    const cluster::request_assembler::outcome got = assembler.feed(part.value());
    const bool last = i + 1 == frames->count();
    if (last != (got.what == cluster::request_assembler::outcome::status::complete)) {
      fail("a request did not complete at its last frame");
    }
    if (last && (got.message.view() != payload || got.push != push)) fail("a request changed");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  cluster::request_assembler assembler(limits);
  reference ref(limits);
  starling::fuzz::fuzz_bodies(
      in, round_trip, crafted_body, [](auto bytes) { return cluster::decode_request(bytes); },
      [&](const auto& part, const std::string& body) {
        if (!inside(part.data, body)) fail("data outside the body");
        if (const auto* name = std::get_if<std::string_view>(&part.to)) {
          if (!inside(std::as_bytes(std::span(name->data(), name->size())), body)) {
            fail("a name outside the body");
          }
        }
        check_reencode(part, body);
        feed(assembler, ref, part);
      });
  return 0;
}
