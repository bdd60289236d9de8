#include "core/environment.hpp"

#include <fmt/format.h>

#include <charconv>
#include <system_error>

#include "core/config.hpp"

namespace starling {

std::optional<std::string> environment::get(std::string_view key) const {
  scoped_lock lock(mutex_);
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

bool environment::set(std::string_view key, std::string_view value) {
  scoped_lock lock(mutex_);
  auto it = values_.lower_bound(key);
  if (it != values_.end() && it->first == key) return false;
  values_.emplace_hint(it, std::string(key), std::string(value));
  return true;
}

bool environment::contains(std::string_view key) const {
  scoped_lock lock(mutex_);
  return values_.find(key) != values_.end();
}

std::vector<std::string> environment::keys() const {
  scoped_lock lock(mutex_);
  std::vector<std::string> out;
  out.reserve(values_.size());
  for (const auto& entry : values_)
    out.push_back(entry.first);
  return out;
}

std::size_t environment::size() const {
  scoped_lock lock(mutex_);
  return values_.size();
}

std::string setenv_exists_message(std::string_view key) {
  std::string message(setenv_exists_prefix);
  message += key;
  return message;
}

std::size_t parse_size_setting(std::string_view key, const std::string& text) {
  std::size_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end) {
    throw config_error(fmt::format("Invalid {} {} , should be a non-negative integer", key, text));
  }
  return value;
}

std::size_t size_setting(const environment& env, std::string_view key, std::size_t fallback) {
  const std::optional<std::string> text = env.get(key);
  return text ? parse_size_setting(key, *text) : fallback;
}

}  // namespace starling
