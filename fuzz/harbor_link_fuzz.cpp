// Feeds arbitrary bytes to the harbor wire decoders (net/harbor_wire): a harbor-link stream in
// pieces of random sizes to a connector's or an acceptor's reader, checked against a plain
// reference that parses the whole stream at once (same frames, same error, nothing held past a
// frame), with every frame encoding back to its bytes; and master-link payloads, which either
// fail with an error that has a text or decode to a packet that encodes and decodes the same.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "net/harbor_wire.hpp"

namespace harbor = starling::net::harbor;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "harbor_link_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input
}

std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::uint32_t be32(const std::string& s, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[at])) << 24 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[at + 1])) << 16 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[at + 2])) << 8 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[at + 3]));
}

struct reference {
  std::vector<std::string> frames;  // whole frames, length included
  std::optional<harbor::frame_error::code> error;
};

reference parse_all(const std::string& s, std::optional<std::uint8_t> expected) {
  reference out;
  std::size_t at = 0;
  if (expected) {
    if (s.empty()) return out;
    if (static_cast<std::uint8_t>(s[0]) != *expected) {
      out.error = harbor::frame_error::code::bad_handshake;
      return out;
    }
    at = 1;
  }
  while (s.size() - at >= 4) {
    const std::uint32_t length = be32(s, at);
    if (length >= 1U << 24) {
      out.error = harbor::frame_error::code::too_long;
      return out;
    }
    if (length < 12) {
      out.error = harbor::frame_error::code::too_short;
      return out;
    }
    if (s.size() - at - 4 < length) break;
    out.frames.push_back(s.substr(at, 4 + length));
    at += 4 + length;
  }
  return out;
}

void link_stream(FuzzedDataProvider& in) {
  std::optional<std::uint8_t> expected;
  if (in.ConsumeBool()) expected = in.ConsumeIntegral<std::uint8_t>();
  // Mostly small lengths, so that whole frames occur.
  std::string stream;
  if (expected && in.ConsumeBool()) stream.push_back(static_cast<char>(*expected));
  while (in.remaining_bytes() > 0 && stream.size() < 6000) {
    if (in.ConsumeBool()) {
      const std::string body = in.ConsumeRandomLengthString(200);
      const auto length = static_cast<std::uint32_t>(body.size());
      for (int shift = 24; shift >= 0; shift -= 8)
        stream.push_back(static_cast<char>(length >> shift));
      stream += body;
    } else {
      stream += in.ConsumeRandomLengthString(64);
    }
  }
  const reference ref = parse_all(stream, expected);
  harbor::link_reader reader(expected);
  std::vector<harbor::frame> got;
  std::optional<harbor::frame_error::code> error;
  std::size_t at = 0;
  std::size_t step = 1;
  while (at < stream.size() && !error) {
    const std::string piece = stream.substr(at, step);
    at += piece.size();
    step = step * 7 % 97 + 1;
    reader.append(bytes_of(piece));
    for (;;) {
      auto f = reader.next();
      if (!f) {
        error = f.error().what;
        if (harbor::describe(f.error()).empty()) fail("an error without a text");
        break;
      }
      if (!f->has_value()) break;
      got.push_back(std::move(**f));
    }
  }
  if (error != ref.error) fail("the error differs from the reference");
  if (got.size() != ref.frames.size()) fail("the frame count differs from the reference");
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto again = harbor::encode_frame(got[i].header, got[i].body.bytes());
    if (!again) fail("a decoded frame does not encode");
    // The type byte and the local id come back from the destination field as they were.
    if (again->view() != ref.frames[i]) fail("a frame encodes differently");
  }
  if (!error && reader.buffered() > harbor::length_size + harbor::max_length) {
    fail("the reader holds more than one frame");
  }
}

void master_payload(FuzzedDataProvider& in) {
  const std::string body = in.ConsumeRandomLengthString(harbor::max_packet_payload);
  const auto p = harbor::decode_packet(bytes_of(body));
  if (!p) {
    if (harbor::describe(p.error()).empty()) fail("a packet error without a text");
    return;
  }
  const auto encoded = harbor::encode_packet(*p);
  if (!encoded) fail("a decoded packet does not encode");
  if (encoded->size() > body.size() + 1) fail("the canonical encoding is longer");
  const auto again = harbor::decode_packet(encoded->bytes().subspan(1));
  if (!again || again->type != p->type || again->number != p->number || again->text != p->text) {
    fail("a packet changed on its way back");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    master_payload(in);
  } else {
    link_stream(in);
  }
  return 0;
}
