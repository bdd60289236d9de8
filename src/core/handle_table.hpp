#pragma once
// Handle allocation and local names. Thread contract: every member is safe from any thread.
//
// Allocation follows skynet's observable rule: a counter starting at 1 is tried first, then the
// following values, and the first whose slot (value & (size-1)) is free wins; the table doubles
// when `size` candidates in a row are taken. Handles therefore grow monotonically and are not
// reused until the 24-bit space wraps.
//
// Lookups (`visit`, `grab`) take no lock and touch no shared counter: a slot holds a plain
// pointer, which the reader pins on a pin_board and then checks is still in the table.
// Retiring unlinks the value, waits until nobody has it pinned, and only then hands back the
// table's reference, so a value is never destroyed under a reader (docs/DESIGN.md, "Handle
// lookups"). Everything else takes the mutex.
//
// T provides `handle()` and `set_handle(handle_t)` and derives from enable_shared_from_this.

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/mutex.hpp"
#include "base/thread_safety.hpp"
#include "core/handle.hpp"
#include "core/pin_board.hpp"

namespace starling {

template <class T>
class handle_table {
 public:
  explicit handle_table(std::uint32_t harbor) : harbor_bits_((harbor & 0xff) << harbor_shift) {
    arrays_.push_back(std::make_unique<slot_array>(4));
    current_.store(arrays_.back().get(), std::memory_order_release);
  }

  /// Registers `value` under a fresh handle (harbor bits included), tells it its handle with
  /// `value->set_handle(h)` before anyone can grab it, and returns the handle.
  handle_t insert(std::shared_ptr<T> value) {
    scoped_lock lock(mutex_);
    for (;;) {
      slot_array& slots = *current_.load(std::memory_order_relaxed);
      handle_t candidate = next_;
      for (std::size_t i = 0; i <= slots.mask; ++i, ++candidate) {
        if (candidate > local_id_mask) candidate = 1;  // 0 is never a service
        slot& s = slots.at(candidate);
        if (!s.owner) {
          const handle_t h = candidate | harbor_bits_;
          value->set_handle(h);
          s.value.store(value.get(), std::memory_order_release);
          s.owner = std::move(value);
          next_ = candidate + 1;
          ++live_;
          return h;
        }
      }
      grow();
    }
  }

  /// Runs `f(T&)` while the value behind `h` cannot be destroyed, and returns true; false
  /// when `h` is not live. `f` must not retire `h` (it would wait for itself).
  template <class F>
  bool visit(handle_t h, F&& f) const {
    const pinned p = pin(h);
    if (!p.value) return false;
    std::forward<F>(f)(*p.value);
    return true;
  }

  /// The value behind `h`, or null when `h` is not live.
  [[nodiscard]] std::shared_ptr<T> grab(handle_t h) const {
    std::shared_ptr<T> result;
    visit(h, [&result](T& value) { result = value.shared_from_this(); });
    return result;
  }

  /// Removes `h` and every local name bound to it; returns the value it held (null if none)
  /// once no lookup is using it.
  std::shared_ptr<T> retire(handle_t h) {
    std::shared_ptr<T> value;
    {
      scoped_lock lock(mutex_);
      slot& s = current_.load(std::memory_order_relaxed)->at(h);
      if (!s.owner || s.owner->handle() != h) return nullptr;
      s.value.store(nullptr, std::memory_order_seq_cst);
      value = std::move(s.owner);
      --live_;
      std::erase_if(names_, [h](const auto& entry) { return entry.second == h; });
    }
    pins_.wait_unpinned(value.get());
    return value;
  }

  /// Removes every handle; returns the values in handle order once no lookup is using them.
  std::vector<std::shared_ptr<T>> retire_all() {
    std::vector<std::shared_ptr<T>> values;
    {
      scoped_lock lock(mutex_);
      slot_array& slots = *current_.load(std::memory_order_relaxed);
      for (std::size_t i = 0; i <= slots.mask; ++i) {
        slot& s = slots.slots[i];
        if (!s.owner) continue;
        s.value.store(nullptr, std::memory_order_seq_cst);
        values.push_back(std::move(s.owner));
      }
      names_.clear();
      live_ = 0;
    }
    std::vector<const void*> objects;
    objects.reserve(values.size());
    for (const auto& v : values)
      objects.push_back(v.get());
    std::sort(objects.begin(), objects.end(), std::less<>());
    pins_.wait_unpinned(objects);
    std::sort(values.begin(), values.end(),
              [](const auto& a, const auto& b) { return a->handle() < b->handle(); });
    return values;
  }

  /// Every live handle, ascending.
  [[nodiscard]] std::vector<handle_t> handles() const {
    shared_lock lock(mutex_);
    const slot_array& slots = *current_.load(std::memory_order_relaxed);
    std::vector<handle_t> result;
    for (std::size_t i = 0; i <= slots.mask; ++i) {
      if (const auto& owner = slots.slots[i].owner) result.push_back(owner->handle());
    }
    std::sort(result.begin(), result.end());
    return result;
  }

  [[nodiscard]] std::size_t live() const {
    shared_lock lock(mutex_);
    return live_;
  }

  // ---- local names (stored without the leading dot) -------------------------------------

  /// Binds `name` to `h`. First registration wins: false if the name exists or `h` is not live.
  bool bind_name(std::string_view name, handle_t h) {
    scoped_lock lock(mutex_);
    const slot& s = current_.load(std::memory_order_relaxed)->at(h);
    if (!s.owner || s.owner->handle() != h) return false;
    return names_.try_emplace(std::string(name), h).second;
  }

  [[nodiscard]] std::optional<handle_t> find_name(std::string_view name) const {
    shared_lock lock(mutex_);
    auto it = names_.find(std::string(name));
    if (it == names_.end()) return std::nullopt;
    return it->second;
  }

 private:
  struct slot {
    std::atomic<T*> value{nullptr};  // what lookups read; null when free
    std::shared_ptr<T> owner;        // the table's reference; guarded by mutex_
  };

  struct slot_array {
    explicit slot_array(std::size_t size) : slots(std::make_unique<slot[]>(size)), mask(size - 1) {}
    slot& at(handle_t h) const noexcept { return slots[h & mask]; }
    std::unique_ptr<slot[]> slots;
    std::size_t mask;  // size - 1; size is a power of two
  };

  /// A pinned value (null: not found); unpins when it goes out of scope.
  struct pinned {
    pinned() = default;
    pinned(T* v, std::size_t s, pin_board* b) : value(v), slot_index(s), board(b) {}
    pinned(const pinned&) = delete;
    pinned& operator=(const pinned&) = delete;
    ~pinned() {
      if (value) board->unpin(slot_index);
    }
    T* value = nullptr;
    std::size_t slot_index = 0;
    pin_board* board = nullptr;
  };

  pinned pin(handle_t h) const {
    for (;;) {
      slot_array* slots = current_.load(std::memory_order_acquire);
      T* value = slots->at(h).value.load(std::memory_order_acquire);
      if (!value) return {};
      const std::size_t index = pins_.pin(value);
      // Still reachable after the pin was published: a retirer, which unlinks before it
      // looks at the pins, will wait for us. The array check makes a stale copy left in an
      // array replaced by grow() fail too.
      if (current_.load(std::memory_order_seq_cst) == slots &&
          slots->at(h).value.load(std::memory_order_seq_cst) == value) {
        // The slot may now hold a newer value that maps to the same index.
        if (value->handle() == h) return {value, index, &pins_};
        pins_.unpin(index);
        return {};
      }
      pins_.unpin(index);
    }
  }

  void grow() REQUIRES(mutex_) {
    const slot_array& old = *current_.load(std::memory_order_relaxed);
    auto bigger = std::make_unique<slot_array>((old.mask + 1) * 2);
    for (std::size_t i = 0; i <= old.mask; ++i) {
      slot& from = old.slots[i];
      if (!from.owner) continue;
      slot& to = bigger->at(from.owner->handle());
      to.value.store(from.owner.get(), std::memory_order_relaxed);
      to.owner = std::move(from.owner);
    }
    current_.store(bigger.get(), std::memory_order_seq_cst);
    arrays_.push_back(std::move(bigger));
  }

  const handle_t harbor_bits_;
  mutable shared_mutex mutex_;
  std::atomic<slot_array*> current_{nullptr};
  // Every array ever current: a lookup may still be reading a replaced one. Together the old
  // ones are smaller than the current one.
  std::vector<std::unique_ptr<slot_array>> arrays_ GUARDED_BY(mutex_);
  mutable pin_board pins_;
  handle_t next_ GUARDED_BY(mutex_) = 1;
  std::size_t live_ GUARDED_BY(mutex_) = 0;
  std::unordered_map<std::string, handle_t> names_ GUARDED_BY(mutex_);
};

}  // namespace starling
