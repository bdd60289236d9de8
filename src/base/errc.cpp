#include "base/errc.hpp"

namespace starling {

std::string_view describe(errc code) noexcept {
  switch (code) {
    case errc::call_failed:
      return "call failed";
    case errc::invalid_address:
      return "call to invalid address";
    case errc::timeout:
      return "timeout";
    case errc::interrupted:
      return "interrupted by wakeup";
    case errc::socket_closed:
      return "socket closed";
    case errc::socket_failed:
      return "socket failed";
    case errc::channel_closed:
      return "channel closed";
    case errc::protocol_error:
      return "protocol error";
  }
  return "unknown error";
}

}  // namespace starling
