#include "services/harbor.hpp"

#include <fmt/format.h>

#include <charconv>

#include "core/node.hpp"
#include "core/socket_message.hpp"
#include "net/socket_server.hpp"
#include "services/harbor_links.hpp"

namespace starling {

namespace {

std::optional<std::uint32_t> parse_number(std::string_view text) {
  std::uint32_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

}  // namespace

bool harbor::init(context& self, std::string_view param) {
  node& runtime = self.owner();
  const std::size_t space = param.find(' ');
  const auto id = parse_number(param.substr(0, space));
  const auto slave =
      space == std::string_view::npos ? std::nullopt : parse_number(param.substr(space + 1));
  runtime.set_harbor_service(self.handle());
  if (!id || *id == 0) return true;  // single-node mode: the node keeps the global names
  if (!slave || *slave == 0 || *id > 255) {
    runtime.log(self.handle(), fmt::format("harbor: bad parameters '{}'", param));
    return false;
  }
  net::socket_server* sockets = net::socket_server::of(runtime);
  if (sockets == nullptr) {
    runtime.log(self.handle(), "harbor: this node has no socket thread");
    return false;
  }
  links_ = std::make_shared<harbor_links>(runtime, *sockets, self.handle(), *slave,
                                          static_cast<std::uint8_t>(*id));
  if (!runtime.set_remote_router(links_)) {
    runtime.log(self.handle(), "harbor: a harbor service is running already");
    links_.reset();
    return false;
  }
  return true;
}

void harbor::dispatch(context& self, message& msg) {
  if (!links_) {
    if (msg.type != ptype::harbor && msg.type != ptype::text) return;
    const std::string_view command = msg.data.view();
    if (command.size() > 2 && command.starts_with("N ")) {
      (void)self.owner().register_global(command.substr(2), msg.source);
    }
    return;
  }
  switch (msg.type) {
    case ptype::harbor:
      links_->on_command(msg.source, msg.data.view());
      break;
    case ptype::socket:
      links_->on_socket(msg);
      break;
    default:
      self.owner().log(self.handle(), fmt::format("recv invalid message from {:x},  type = {}",
                                                  msg.source, static_cast<int>(msg.type)));
      if (msg.session != 0 && msg.source != 0) {
        self.owner().send(self.handle(), msg.source, ptype::error, msg.session, {});
      }
      break;
  }
}

}  // namespace starling
