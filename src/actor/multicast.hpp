#pragma once
// Multicast channels for native actors (docs/API.md, "Multicast"): the channels of
// skynet.multicast, served by the same Lua service multicastd, so C++ and Lua services publish
// to and subscribe to each other.
//
//   multicast_client mc(*this);
//   result<std::uint32_t> channel = co_await mc.create();
//   co_await mc.subscribe(*channel);
//   co_await mc.publish(*channel, "hello", 42);        // Lua subscribers get ("hello", 42)
//
// A subscriber receives each message as a ptype::multicast message in on_message, and reads
// it with multicast_delivery::from(msg): the channel, the publisher and the packed values.
// The delivery shares the published message with the other subscribers and lets go of it
// when destroyed.

#include <cstdint>
#include <optional>
#include <span>

#include "actor/actor.hpp"
#include "seri/value.hpp"

namespace starling {

namespace share {
class multicast_package;
}

class multicast_client {
 public:
  explicit multicast_client(actor& self) noexcept : self_(self) {}

  /// A new channel of this node.
  task<result<std::uint32_t>> create();
  /// Delivers the channel's messages to this actor from now on (again: nothing changes).
  task<result<void>> subscribe(std::uint32_t channel);
  /// Stops the deliveries to this actor. False when multicastd cannot be reached.
  task<bool> unsubscribe(std::uint32_t channel);
  /// Deletes the channel: later publishes reach nobody.
  task<bool> remove(std::uint32_t channel);
  /// Publishes values (packed as skynet.pack does); returns once multicastd passed them on.
  template <class... Values>
  task<result<void>> publish(std::uint32_t channel, const Values&... values) {
    return publish_packed(channel, seri::pack(values...));
  }
  /// Publishes a body already in the skynet.pack format.
  task<result<void>> publish_packed(std::uint32_t channel, payload body);

 private:
  /// multicastd, launched on first use as skynet.uniqueservice does.
  task<result<handle_t>> service();

  actor& self_;
};

class multicast_delivery {
 public:
  /// The delivery a ptype::multicast message carries; nullopt for any other message.
  static std::optional<multicast_delivery> from(const message& msg);

  multicast_delivery(multicast_delivery&& other) noexcept;
  multicast_delivery& operator=(multicast_delivery&& other) noexcept;
  multicast_delivery(const multicast_delivery&) = delete;
  multicast_delivery& operator=(const multicast_delivery&) = delete;
  ~multicast_delivery();

  [[nodiscard]] std::uint32_t channel() const noexcept { return channel_; }
  [[nodiscard]] handle_t publisher() const noexcept { return publisher_; }
  /// The published body, in the skynet.pack format.
  [[nodiscard]] std::span<const std::byte> body() const noexcept;
  /// The published values. Throws seri::error for a body that is not skynet.pack's.
  [[nodiscard]] seri::value_list values() const;

 private:
  multicast_delivery(share::multicast_package* package, std::uint32_t channel,
                     handle_t publisher) noexcept
      : package_(package), channel_(channel), publisher_(publisher) {}

  share::multicast_package* package_;  // one delivery's count; null once moved from
  std::uint32_t channel_;
  handle_t publisher_;
};

}  // namespace starling
