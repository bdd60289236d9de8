#pragma once
// Session -> pointer, open addressing. Sessions of one service are positive and mostly
// sequential, and a call inserts and erases one entry per round trip: a flat table keeps
// that free of allocations (std::unordered_map allocates a node per insert).
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
    if ((size_ + tombstones_ + 1) * 2 > slots_.size()) rehash(size_ * 4 + 16);
    std::size_t i = index(session);
    std::size_t reuse = slots_.size();
    for (;; i = next(i)) {
      slot& s = slots_[i];
      if (s.key == session) {
        s.value = value;
        return;
      }
      if (s.key == tombstone && reuse == slots_.size()) reuse = i;
      if (s.key == empty_key) break;
    }
    if (reuse != slots_.size()) {
      --tombstones_;
      i = reuse;
    }
    slots_[i] = slot{session, value};
    ++size_;
  }

  [[nodiscard]] T* find(std::int32_t session) const noexcept {
    if (size_ == 0) return nullptr;
    for (std::size_t i = index(session);; i = next(i)) {
      const slot& s = slots_[i];
      if (s.key == session) return s.value;
      if (s.key == empty_key) return nullptr;
    }
  }

  /// Removes and returns the entry (null if absent).
  T* take(std::int32_t session) noexcept {
    if (size_ == 0) return nullptr;
    for (std::size_t i = index(session);; i = next(i)) {
      slot& s = slots_[i];
      if (s.key == session) {
        T* value = s.value;
        s = slot{tombstone, nullptr};
        --size_;
        ++tombstones_;
        return value;
      }
      if (s.key == empty_key) return nullptr;
    }
  }

  /// Calls f(session, value) for every entry.
  template <class F>
  void for_each(F&& f) const {
    for (const slot& s : slots_) {
      if (s.key > 0) f(s.key, s.value);
    }
  }

 private:
  static constexpr std::int32_t empty_key = 0;
  static constexpr std::int32_t tombstone = -1;

  struct slot {
    std::int32_t key = empty_key;
    T* value = nullptr;
  };

  [[nodiscard]] std::size_t index(std::int32_t session) const noexcept {
    return static_cast<std::size_t>(static_cast<std::uint32_t>(session) * 2654435761U) &
           (slots_.size() - 1);
  }
  [[nodiscard]] std::size_t next(std::size_t i) const noexcept { return (i + 1) & (slots_.size() - 1); }

  void rehash(std::size_t wanted) {
    std::size_t capacity = 16;
    while (capacity < wanted) capacity *= 2;
    std::vector<slot> old = std::move(slots_);
    slots_.assign(capacity, slot{});
    size_ = 0;
    tombstones_ = 0;
    for (const slot& s : old) {
      if (s.key > 0) put(s.key, s.value);
    }
  }

  std::vector<slot> slots_ = std::vector<slot>(16);  // size is a power of two
  std::size_t size_ = 0;
  std::size_t tombstones_ = 0;
};

}  // namespace starling::detail
