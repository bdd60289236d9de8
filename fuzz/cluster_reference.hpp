#pragma once
// What the cluster fuzzers share: the model they hold their assemblers to (every piece kept in
// a string, each message judged only when it ends), the small limits that make the inputs
// reach them, and byte helpers.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "net/cluster_wire.hpp"

namespace starling::fuzz {

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "cluster fuzzer: %s\n", what);
  std::abort();  // libFuzzer saves the input
}

/// Small enough that a few thousand input bytes overflow each of them.
inline constexpr net::cluster::assembly_limits cluster_limits{
    .max_message = 3000, .max_pending = 4, .max_buffered = 5000};

inline std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

inline std::string text_of(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// Appends `n` as the wire's little-endian 32 bits.
inline void put_u32(std::string& out, std::uint32_t n) {
  for (int shift = 0; shift < 32; shift += 8)
    out.push_back(static_cast<char>((n >> shift) & 0xff));
}

/// One input of a cluster fuzzer: one time in eight `round_trip(in)`; otherwise bodies until
/// the input runs out, each built by `crafted(in)` or arbitrary, and decoded by `decode`. A
/// body refused must say why; what decodes goes to `check(part, body)`.
template <class RoundTrip, class Craft, class Decode, class Check>
void fuzz_bodies(FuzzedDataProvider& in, RoundTrip round_trip, Craft crafted, Decode decode,
                 Check check) {
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0) {
    round_trip(in);
    return;
  }
  while (in.remaining_bytes() > 0) {
    const std::string body = in.ConsumeBool() ? crafted(in) : in.ConsumeRandomLengthString(300);
    const auto part = decode(bytes_of(body));
    if (!part) {
      if (net::cluster::describe(part.error()).empty()) fail("an error without a text");
      continue;
    }
    check(part.value(), body);
  }
}

struct reassembly_reference {
  struct entry {
    int headers = 0;      // of a split request, or begins of a split reply
    bool orphan = false;  // a piece came before any header: skynet's list cannot join
    std::uint32_t total = 0;
    std::string data;
  };

  explicit reassembly_reference(const net::cluster::assembly_limits& l) : limits(l) {}

  [[nodiscard]] bool broken(const entry& e) const {
    return e.orphan || e.headers != 1 || e.total > limits.max_message || e.data.size() > e.total;
  }
  [[nodiscard]] std::size_t buffered() const {
    std::size_t n = 0;
    for (const auto& [session, e] : entries)
      n += broken(e) ? 0 : e.data.size();
    return n;
  }
  // Whether keeping `piece` for `session` would pass max_buffered.
  [[nodiscard]] bool over_budget(std::uint32_t session, std::size_t piece) const {
    const auto it = entries.find(session);
    if (it == entries.end() || broken(it->second)) return false;
    if (it->second.data.size() + piece > it->second.total) return false;  // breaks instead
    return buffered() + piece > limits.max_buffered;
  }
  [[nodiscard]] bool full(std::uint32_t session) const {
    return !entries.contains(session) && entries.size() >= limits.max_pending;
  }
  /// The last piece of `session`'s message arrived: its whole data if the message is valid,
  /// nothing if not. The entry goes.
  std::optional<std::string> finish(std::map<std::uint32_t, entry>::iterator it,
                                    std::string_view last) {
    entry e = std::move(it->second);
    entries.erase(it);
    e.data += last;
    if (broken(e) || e.data.size() != e.total) return std::nullopt;
    return std::move(e.data);
  }
  /// What the assembler holds must be what the reference holds.
  template <class Assembler>
  void holds_the_same_as(const Assembler& assembler) const {
    if (assembler.pending() != entries.size()) fail("pending differs");
    if (assembler.buffered() != buffered()) fail("buffered differs");
  }

  net::cluster::assembly_limits limits;
  std::map<std::uint32_t, entry> entries;
};

}  // namespace starling::fuzz
