#pragma once
// starling::share multicast packages (skynet.multicast, docs/LIBRARIES.md "multicast"): one
// published message, shared by every subscriber it is delivered to. multicastd binds it to
// the subscriber count; each subscriber closes it once, the last one frees it.
//
// On the wire a package travels as its address: `holder` is a malloc'd block of one pointer
// (a message of 8 bytes), so the message can go where skynet messages go.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <utility>

namespace starling::share {

class multicast_package {
 public:
  multicast_package(void* data, std::size_t size) noexcept : data_(data), size_(size) {}
  ~multicast_package() { std::free(data_); }  // NOLINT(*-no-malloc)
  multicast_package(const multicast_package&) = delete;
  multicast_package& operator=(const multicast_package&) = delete;

  [[nodiscard]] const void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  friend struct multicast;
  std::atomic<int> refs_{0};
  std::atomic<bool> bound_{false};
  void* data_;
  std::size_t size_;
};

/// The package operations. Addresses cross threads as plain pointers (message bodies).
struct multicast {
  /// Wraps `data` (malloc'd, taken over) in a package; returns its holder (malloc'd, one
  /// pointer), or null when out of memory (then `data` is freed).
  static void* pack(void* data, std::size_t size) noexcept;
  /// The same with a copy of the bytes (a message from another node).
  static void* pack_copy(const void* data, std::size_t size) noexcept;
  /// The package a holder (or a message of `size` bytes carrying its address) names; null when
  /// `size` is not the size of a pointer.
  static multicast_package* unpack(const void* message, std::size_t size) noexcept;
  /// Sets the package's count of deliveries and frees the holder. False (holder kept) if the
  /// package was bound already.
  static bool bind(void* holder, int count) noexcept;
  /// One delivery done: frees the package after the last. False if the count was already 0.
  static bool close(multicast_package* package) noexcept;
  /// Frees a holder and its unbound package, handing the message on: its data (malloc'd, now
  /// the caller's) and size. For a message forwarded to another node.
  static std::pair<void*, std::size_t> take(void* holder) noexcept;
  /// The next channel id after `id` on one node: harbor bits kept, modulo 2^31.
  static std::uint32_t next_channel(std::uint32_t id) noexcept { return (id + 256) & 0x7fffffffU; }
};

}  // namespace starling::share
