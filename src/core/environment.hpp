#pragma once
// The node environment: the process-wide string -> string map behind skynet.getenv/setenv.
//
// It is filled once from the config file, then only grows: skynet offers no way to modify or
// delete a key, so `set` refuses an existing key instead of overwriting it.
//
// Thread contract: every member may be called from any thread at any time; one internal mutex
// serialises them. Values are returned by copy, so nothing handed out refers to the map.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.hpp"

namespace starling {

class environment {
 public:
  environment() = default;
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;

  /// Thread-safe. The value stored under `key`, or nullopt when the key was never set.
  [[nodiscard]] std::optional<std::string> get(std::string_view key) const;
  /// Thread-safe. Adds `key` = `value`; returns false and changes nothing if the key exists.
  bool set(std::string_view key, std::string_view value);
  /// Thread-safe. Whether `key` is set.
  [[nodiscard]] bool contains(std::string_view key) const;
  /// Thread-safe. A snapshot of all keys, in ascending byte order.
  [[nodiscard]] std::vector<std::string> keys() const;
  /// Thread-safe. The number of keys.
  [[nodiscard]] std::size_t size() const;

 private:
  mutable mutex mutex_;
  std::map<std::string, std::string, std::less<>> values_ GUARDED_BY(mutex_);
};

/// Thread-safe (pure). The value of a size or length key (socket_write_limit,
/// socket_pause_mqlen, ...): a non-negative decimal integer. Throws config_error
/// (core/config.hpp) "Invalid <key> <text> , should be a non-negative integer" otherwise.
[[nodiscard]] std::size_t parse_size_setting(std::string_view key, const std::string& text);
/// Thread-safe. `key` of `env` read by parse_size_setting; `fallback` when it is absent.
[[nodiscard]] std::size_t size_setting(const environment& env, std::string_view key,
                                       std::size_t fallback);

/// The start of skynet's error text for a setenv of an existing key; the key follows it.
inline constexpr std::string_view setenv_exists_prefix = "Can't setenv exist key : ";

/// Thread-safe (pure). The full error text: "Can't setenv exist key : <key>".
[[nodiscard]] std::string setenv_exists_message(std::string_view key);

}  // namespace starling
