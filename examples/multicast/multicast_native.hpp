#pragma once
// A native service on multicast channels (src/actor/multicast.hpp), driven by "lua" requests:
//   "create"                 -> the new channel's id
//   "subscribe", channel     -> true
//   "unsubscribe", channel   -> true
//   "publish", channel, text -> true once multicastd passed it on
//   "received"               -> one value per delivery so far: "<channel> <publisher> <text>"

#include <string>
#include <vector>

#include "actor/actor.hpp"

namespace starling::examples {

class multicast_native final : public actor {
 protected:
  task<> on_request(request req) override;
  void on_message(message& msg) override;

 private:
  std::vector<std::string> received_;
};

}  // namespace starling::examples
