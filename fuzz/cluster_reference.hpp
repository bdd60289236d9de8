#pragma once
// The model the cluster fuzzers hold their assemblers to: every piece kept in a string, each
// message judged only when it ends.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "net/cluster_wire.hpp"

namespace starling::fuzz {

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

  net::cluster::assembly_limits limits;
  std::map<std::uint32_t, entry> entries;
};

}  // namespace starling::fuzz
