#pragma once
// Session -> pointer, open addressing with linear probing. Sessions of one service are
// positive and mostly sequential, and a call inserts and erases one entry per round trip: a
// flat table keeps that free of allocations (std::unordered_map allocates a node per insert).
// Erasing shifts the following entries back instead of leaving tombstones, so probe lengths
// stay short however many entries come and go.
// Thread contract: not thread-safe; one service's dispatch owns it.

#include <cstdint>
#include <vector>

namespace starling::detail {

template <class T>
class session_map {
 public:
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  /// Inserts or replaces. `session` must be positive.
  void put(std::int32_t session, T* value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    std::size_t i = home(session);
    while (slots_[i].key != empty_key && slots_[i].key != session)
      i = next(i);
    if (slots_[i].key == empty_key) ++size_;
    slots_[i] = slot{session, value};
  }

  [[nodiscard]] T* find(std::int32_t session) const noexcept {
    for (std::size_t i = home(session);; i = next(i)) {
      const slot& s = slots_[i];
      if (s.key == session) return s.value;
      if (s.key == empty_key) return nullptr;
    }
  }

  /// Removes and returns the entry (null if absent).
  T* take(std::int32_t session) noexcept {
    std::size_t hole = home(session);
    while (slots_[hole].key != session) {
      if (slots_[hole].key == empty_key) return nullptr;
      hole = next(hole);
    }
    T* value = slots_[hole].value;
    // Backward shift: pull later entries of the run into the hole when their home position
    // does not lie cyclically in (hole, j].
    for (std::size_t j = next(hole); slots_[j].key != empty_key; j = next(j)) {
      const std::size_t h = home(slots_[j].key);
      const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (stays) continue;
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

  struct slot {
    std::int32_t key = empty_key;
    T* value = nullptr;
  };

  [[nodiscard]] std::size_t home(std::int32_t session) const noexcept {
    return static_cast<std::size_t>(static_cast<std::uint32_t>(session) * 2654435761U) &
           (slots_.size() - 1);
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
