#pragma once
// Session -> pointer, open addressing with linear probing. Sessions of one service are
// positive and mostly sequential, and a call inserts and erases one entry per round trip: a
// flat table keeps that free of allocations (std::unordered_map allocates a node per insert).
// Entries are kept in Robin Hood order (along a run, nearer their home the later they come):
// a lookup stops as soon as the entries it passes are nearer home than it, and erasing shifts
// the following entries back only up to the next one at its home, with no tombstones.
// Thread contract: not thread-safe; one service's dispatch owns it.

#include <cstdint>
#include <utility>
#include <vector>

namespace starling::detail {

// Where a key's probe starts, for a table of `mask + 1` slots.
//
// Keys a service numbers itself (its own sessions): consecutive keys take consecutive slots,
// so a window of live sessions never collides and each lookup touches the cache line its
// neighbours just used. With 10,000 sleeping coroutines a scattering hash made every lookup a
// cache miss in a 512 KiB table.
struct sequential_keys {
  static std::size_t home(std::int32_t key, std::size_t mask) noexcept {
    return static_cast<std::size_t>(static_cast<std::uint32_t>(key)) & mask;
  }
};

// Keys chosen by someone else (a remote protocol's request ids): scattered, so no stride of
// theirs piles them onto one run of slots.
struct scattered_keys {
  static std::size_t home(std::int32_t key, std::size_t mask) noexcept {
    return static_cast<std::size_t>(static_cast<std::uint32_t>(key) * 2654435761U) & mask;
  }
};

template <class T, class Placement = scattered_keys>
class session_map {
 public:
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  /// Inserts or replaces. `session` must be positive.
  void put(std::int32_t session, T* value) {
    if (const std::size_t at = position(session); at != npos) {
      slots_[at].value = value;
      return;
    }
    if ((size_ + 1) * 2 > slots_.size()) grow();
    // Robin Hood: the entry further from its home keeps a slot, the other moves on.
    slot carried{session, value};
    std::size_t distance = 0;
    for (std::size_t i = home(session);; i = next(i), ++distance) {
      if (slots_[i].key == empty_key) {
        slots_[i] = carried;
        ++size_;
        return;
      }
      if (const std::size_t resident = distance_of(i); resident < distance) {
        std::swap(slots_[i], carried);
        distance = resident;
      }
    }
  }

  [[nodiscard]] T* find(std::int32_t session) const noexcept {
    const std::size_t at = position(session);
    return at == npos ? nullptr : slots_[at].value;
  }

  /// Removes and returns the entry (null if absent).
  T* take(std::int32_t session) noexcept {
    std::size_t hole = position(session);
    if (hole == npos) return nullptr;
    T* value = slots_[hole].value;
    // Backward shift up to the first entry at its home (or a free slot): Robin Hood order
    // keeps every entry before it, so a long run of entries at home costs nothing.
    for (std::size_t j = next(hole); slots_[j].key != empty_key && distance_of(j) != 0;
         j = next(j)) {
      slots_[hole] = slots_[j];
      hole = j;
    }
    slots_[hole] = slot{};
    --size_;
    return value;
  }

  /// Calls f(session, value) for every entry.
  template <class F>
  void for_each(F&& f) const {
    for (const slot& s : slots_) {
      if (s.key != empty_key) f(s.key, s.value);
    }
  }

 private:
  static constexpr std::int32_t empty_key = 0;
  static constexpr std::size_t npos = ~std::size_t{0};

  struct slot {
    std::int32_t key = empty_key;
    T* value = nullptr;
  };

  [[nodiscard]] std::size_t home(std::int32_t session) const noexcept {
    return Placement::home(session, slots_.size() - 1);
  }
  // How far the entry in slot i sits from its home.
  [[nodiscard]] std::size_t distance_of(std::size_t i) const noexcept {
    return (i - home(slots_[i].key)) & (slots_.size() - 1);
  }
  // The slot holding `session`, or npos. A probe ends at a free slot or at an entry nearer
  // its home than the probe has come: Robin Hood order would have put `session` before it.
  [[nodiscard]] std::size_t position(std::int32_t session) const noexcept {
    std::size_t distance = 0;
    for (std::size_t i = home(session);; i = next(i), ++distance) {
      if (slots_[i].key == session) return i;
      if (slots_[i].key == empty_key || distance_of(i) < distance) return npos;
    }
  }
  [[nodiscard]] std::size_t next(std::size_t i) const noexcept {
    return (i + 1) & (slots_.size() - 1);
  }

  void grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, slot{});
    size_ = 0;
    for (const slot& s : old) {
      if (s.key != empty_key) put(s.key, s.value);
    }
  }

  std::vector<slot> slots_ = std::vector<slot>(16);  // size is a power of two, load <= 1/2
  std::size_t size_ = 0;
};

}  // namespace starling::detail
