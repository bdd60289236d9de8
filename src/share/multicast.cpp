#include "share/multicast.hpp"

#include <cstring>
#include <memory>
#include <new>

#include "base/payload.hpp"

namespace starling::share {

void* multicast::pack(void* data, std::size_t size) noexcept {
  malloc_ptr<> owned(data);
  malloc_ptr<> holder(std::malloc(sizeof(void*)));  // NOLINT(*-no-malloc)
  if (holder == nullptr) return nullptr;
  std::unique_ptr<multicast_package> package;
  try {
    package = std::make_unique<multicast_package>(owned.get(), size);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
  (void)owned.release();                           // the package owns the data
  multicast_package* address = package.release();  // owned by the holder from here on
  std::memcpy(holder.get(), static_cast<const void*>(&address), sizeof(void*));
  return holder.release();
}

void* multicast::pack_copy(const void* data, std::size_t size) noexcept {
  void* copy = std::malloc(size == 0 ? 1 : size);  // NOLINT(*-no-malloc)
  if (copy == nullptr) return nullptr;
  if (size > 0) std::memcpy(copy, data, size);
  return pack(copy, size);
}

multicast_package* multicast::unpack(const void* message, std::size_t size) noexcept {
  if (message == nullptr || size != sizeof(void*)) return nullptr;
  multicast_package* package = nullptr;
  std::memcpy(static_cast<void*>(&package), message, sizeof(void*));
  return package;
}

bool multicast::bind(void* holder, int count) noexcept {
  multicast_package* package = unpack(holder, sizeof(void*));
  if (package == nullptr || package->bound_.exchange(true)) return false;
  package->refs_.store(count);
  std::free(holder);  // NOLINT(*-no-malloc)
  return true;
}

bool multicast::close(multicast_package* package) noexcept {
  int refs = package->refs_.load();
  do {
    if (refs <= 0) return false;
  } while (!package->refs_.compare_exchange_weak(refs, refs - 1));
  if (refs == 1) std::unique_ptr<multicast_package> last(package);
  return true;
}

std::pair<void*, std::size_t> multicast::take(void* holder) noexcept {
  const std::unique_ptr<multicast_package> package(unpack(holder, sizeof(void*)));
  std::free(holder);  // NOLINT(*-no-malloc)
  const std::pair<void*, std::size_t> message{std::exchange(package->data_, nullptr),
                                              package->size_};
  return message;
}

}  // namespace starling::share
