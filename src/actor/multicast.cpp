#include "actor/multicast.hpp"

#include <utility>

#include "seri/reader.hpp"
#include "seri/writer.hpp"
#include "share/multicast.hpp"

namespace starling {

task<result<handle_t>> multicast_client::service() {
  actor::delegate self(self_);
  result<reply> r = co_await self.call(".service", "LAUNCH", "multicastd");
  if (!r) co_return r.error();
  seri::reader values = r->reader();
  if (values.at_end()) co_return errc::call_failed;
  co_return static_cast<handle_t>(values.read_integer());
}

task<result<std::uint32_t>> multicast_client::create() {
  result<handle_t> mcd = co_await service();
  if (!mcd) co_return mcd.error();
  actor::delegate self(self_);
  result<reply> r = co_await self.call(*mcd, "NEW");
  if (!r) co_return r.error();
  co_return static_cast<std::uint32_t>(r->reader().read_integer());
}

task<result<void>> multicast_client::subscribe(std::uint32_t channel) {
  result<handle_t> mcd = co_await service();
  if (!mcd) co_return mcd.error();
  actor::delegate self(self_);
  result<reply> r = co_await self.call(*mcd, "SUB", static_cast<std::int64_t>(channel));
  if (!r) co_return r.error();
  co_return result<void>();
}

task<bool> multicast_client::unsubscribe(std::uint32_t channel) {
  result<handle_t> mcd = co_await service();
  actor::delegate self(self_);
  co_return mcd&& self.send_raw(*mcd, ptype::lua,
                                seri::pack("USUB", static_cast<std::int64_t>(channel)));
}

task<bool> multicast_client::remove(std::uint32_t channel) {
  result<handle_t> mcd = co_await service();
  actor::delegate self(self_);
  co_return mcd&& self.send_raw(*mcd, ptype::lua,
                                seri::pack("DEL", static_cast<std::int64_t>(channel)));
}

task<result<void>> multicast_client::publish_packed(std::uint32_t channel, payload body) {
  result<handle_t> mcd = co_await service();
  if (!mcd) co_return mcd.error();
  const std::size_t size = body.size();
  void* holder = share::multicast::pack(body.release_malloced(), size);
  if (holder == nullptr) co_return errc::call_failed;
  actor::delegate self(self_);
  // multicastd binds the package to its subscribers (or frees it when there are none).
  result<reply> r =
      co_await self.call(*mcd, "PUB", static_cast<std::int64_t>(channel),
                         seri::light_userdata{reinterpret_cast<std::uintptr_t>(holder)},
                         static_cast<std::int64_t>(sizeof(void*)));
  if (!r) co_return r.error();
  co_return result<void>();
}

std::optional<multicast_delivery> multicast_delivery::from(const message& msg) {
  if (msg.type != ptype::multicast) return std::nullopt;
  share::multicast_package* package = share::multicast::unpack(msg.data.data(), msg.data.size());
  if (package == nullptr) return std::nullopt;
  return multicast_delivery(package, static_cast<std::uint32_t>(msg.session), msg.source);
}

multicast_delivery::multicast_delivery(multicast_delivery&& other) noexcept
    : package_(std::exchange(other.package_, nullptr)),
      channel_(other.channel_),
      publisher_(other.publisher_) {}

multicast_delivery& multicast_delivery::operator=(multicast_delivery&& other) noexcept {
  if (this != &other) {
    if (package_ != nullptr) share::multicast::close(package_);
    package_ = std::exchange(other.package_, nullptr);
    channel_ = other.channel_;
    publisher_ = other.publisher_;
  }
  return *this;
}

multicast_delivery::~multicast_delivery() {
  if (package_ != nullptr) share::multicast::close(package_);
}

std::span<const std::byte> multicast_delivery::body() const noexcept {
  return {static_cast<const std::byte*>(package_->data()), package_->size()};
}

seri::value_list multicast_delivery::values() const {
  return seri::unpack(body());
}

}  // namespace starling
