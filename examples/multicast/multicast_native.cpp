#include "examples/multicast/multicast_native.hpp"

#include <fmt/format.h>

#include "actor/multicast.hpp"

namespace starling::examples {

task<> multicast_native::on_request(request req) {
  seri::reader args = req.reader();
  const std::string command(args.read_string());
  multicast_client mc(*this);
  if (command == "create") {
    result<std::uint32_t> channel = co_await mc.create();
    if (!channel) {
      req.fail();
      co_return;
    }
    req.reply(static_cast<std::int64_t>(*channel));
  } else if (command == "subscribe") {
    const auto channel = static_cast<std::uint32_t>(args.read_integer());
    req.reply(static_cast<bool>(co_await mc.subscribe(channel)));
  } else if (command == "unsubscribe") {
    const auto channel = static_cast<std::uint32_t>(args.read_integer());
    req.reply(co_await mc.unsubscribe(channel));
  } else if (command == "publish") {
    const auto channel = static_cast<std::uint32_t>(args.read_integer());
    const std::string text(args.read_string());
    req.reply(static_cast<bool>(co_await mc.publish(channel, text, "from C++")));
  } else if (command == "received") {
    seri::value_list list(received_.begin(), received_.end());
    req.reply(list);
  } else {
    req.fail();
  }
}

void multicast_native::on_message(message& msg) {
  std::optional<multicast_delivery> delivery = multicast_delivery::from(msg);
  if (!delivery) {
    actor::on_message(msg);
    return;
  }
  const seri::value_list values = delivery->values();
  const std::string text = !values.empty() && values[0].is_string() ? values[0].as_string() : "?";
  received_.push_back(
      fmt::format("{} {:08x} {}", delivery->channel(), delivery->publisher(), text));
}

}  // namespace starling::examples
