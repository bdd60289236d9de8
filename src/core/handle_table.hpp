#pragma once
// Handle allocation and local names. Thread contract: every member is safe from any thread.
//
// Allocation follows skynet's observable rule: a counter starting at 1 is tried first, then the
// following values, and the first whose slot (value & (size-1)) is free wins; the table doubles
// when `size` candidates in a row are taken. Handles therefore grow monotonically and are not
// reused until the 24-bit space wraps.

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/handle.hpp"

namespace starling {

template <class T>
class handle_table {
 public:
  explicit handle_table(std::uint32_t harbor) : harbor_bits_((harbor & 0xff) << harbor_shift) {}

  /// Registers `value` under a fresh handle (harbor bits included), tells it its handle with
  /// `value->set_handle(h)` before anyone can grab it, and returns the handle.
  handle_t insert(std::shared_ptr<T> value) {
    std::unique_lock lock(mutex_);
    for (;;) {
      handle_t candidate = next_;
      for (std::size_t i = 0; i < slots_.size(); ++i, ++candidate) {
        if (candidate > local_id_mask) candidate = 1;  // 0 is never a service
        slot& s = slots_[candidate & (slots_.size() - 1)];
        if (!s.value) {
          s.handle = candidate | harbor_bits_;
          value->set_handle(s.handle);
          s.value = std::move(value);
          next_ = candidate + 1;
          ++live_;
          return s.handle;
        }
      }
      grow();
    }
  }

  /// The value behind `h`, or null when `h` is not live.
  [[nodiscard]] std::shared_ptr<T> grab(handle_t h) const {
    std::shared_lock lock(mutex_);
    const slot& s = slots_[h & (slots_.size() - 1)];
    return s.handle == h ? s.value : nullptr;
  }

  /// Removes `h` and every local name bound to it; returns the value it held (null if none).
  std::shared_ptr<T> retire(handle_t h) {
    std::unique_lock lock(mutex_);
    slot& s = slots_[h & (slots_.size() - 1)];
    if (s.handle != h || !s.value) return nullptr;
    std::shared_ptr<T> value = std::move(s.value);
    s = slot{};
    --live_;
    std::erase_if(names_, [h](const auto& entry) { return entry.second == h; });
    return value;
  }

  /// Removes every handle; returns the values in handle order.
  std::vector<std::shared_ptr<T>> retire_all() {
    std::unique_lock lock(mutex_);
    std::vector<std::pair<handle_t, std::shared_ptr<T>>> taken;
    for (slot& s : slots_) {
      if (s.value) taken.emplace_back(s.handle, std::move(s.value));
      s = slot{};
    }
    names_.clear();
    live_ = 0;
    std::sort(taken.begin(), taken.end(), [](auto& a, auto& b) { return a.first < b.first; });
    std::vector<std::shared_ptr<T>> values;
    values.reserve(taken.size());
    for (auto& [h, v] : taken)
      values.push_back(std::move(v));
    return values;
  }

  /// Every live handle, ascending.
  [[nodiscard]] std::vector<handle_t> handles() const {
    std::shared_lock lock(mutex_);
    std::vector<handle_t> result;
    for (const slot& s : slots_) {
      if (s.value) result.push_back(s.handle);
    }
    std::sort(result.begin(), result.end());
    return result;
  }

  [[nodiscard]] std::size_t live() const {
    std::shared_lock lock(mutex_);
    return live_;
  }

  // ---- local names (stored without the leading dot) -------------------------------------

  /// Binds `name` to `h`. First registration wins: false if the name exists or `h` is not live.
  bool bind_name(std::string_view name, handle_t h) {
    std::unique_lock lock(mutex_);
    const slot& s = slots_[h & (slots_.size() - 1)];
    if (s.handle != h || !s.value) return false;
    return names_.try_emplace(std::string(name), h).second;
  }

  [[nodiscard]] std::optional<handle_t> find_name(std::string_view name) const {
    std::shared_lock lock(mutex_);
    auto it = names_.find(std::string(name));
    if (it == names_.end()) return std::nullopt;
    return it->second;
  }

 private:
  struct slot {
    handle_t handle = 0;
    std::shared_ptr<T> value;
  };

  void grow() {
    std::vector<slot> bigger(slots_.size() * 2);
    for (slot& s : slots_)
      bigger[s.handle & (bigger.size() - 1)] = std::move(s);
    slots_ = std::move(bigger);
  }

  const handle_t harbor_bits_;
  mutable std::shared_mutex mutex_;
  std::vector<slot> slots_ = std::vector<slot>(4);  // size is a power of two
  handle_t next_ = 1;
  std::size_t live_ = 0;
  std::unordered_map<std::string, handle_t> names_;
};

}  // namespace starling
