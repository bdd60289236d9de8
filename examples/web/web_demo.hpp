#pragma once
// A native HTTP and WebSocket server; see web_demo.cpp.

#include "web/web.hpp"

namespace starling::examples {

class web_demo final : public web::service {
 protected:
  task<> start(std::vector<std::string> args) override;

 private:
  task<> accept_http(socket_id listener);
  task<> accept_ws(socket_id listener);
  task<> echo(socket_id id);
};

}  // namespace starling::examples
