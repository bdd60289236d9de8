#pragma once
// The exception raised by the codec. what() is skynet's own text wherever skynet has one
// (see docs/SERI.md), so that errors read the same to Lua code and to C++ code.

#include <stdexcept>
#include <string>

namespace starling::seri {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace starling::seri
