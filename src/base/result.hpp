#pragma once
// result<T>: a value or an errc (std::expected is C++23, and g++ 12 lacks it). A codec whose
// failures need more than a code (a size, a byte) names its own error type: result<T, E>; the
// sockets use net::failure (an errc and the system's text, net/failure.hpp).

#include <cassert>
#include <utility>
#include <variant>

#include "base/errc.hpp"

namespace starling {

template <class T, class E = errc>
class [[nodiscard]] result {
 public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  result(E error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] T& value() & { return check(), std::get<0>(state_); }
  [[nodiscard]] const T& value() const& { return check(), std::get<0>(state_); }
  [[nodiscard]] T&& value() && { return check(), std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  [[nodiscard]] const E& error() const& noexcept {
    assert(!has_value());
    return std::get<1>(state_);
  }
  [[nodiscard]] E error() && noexcept {
    assert(!has_value());
    return std::get<1>(std::move(state_));
  }

 private:
  void check() const { assert(has_value()); }
  std::variant<T, E> state_;
};

/// A result that carries no value.
template <class E>
class [[nodiscard]] result<void, E> {
 public:
  result() = default;
  result(E error) : error_(std::move(error)), failed_(true) {}  // NOLINT: implicit
  [[nodiscard]] bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return !failed_; }
  [[nodiscard]] const E& error() const& noexcept { return error_; }
  [[nodiscard]] E error() && noexcept { return std::move(error_); }

 private:
  E error_{};
  bool failed_ = false;
};

}  // namespace starling
