#include "core/socket_message.hpp"

#include <cstdlib>
#include <cstring>

namespace starling {

payload make_socket_message(socket_event type, std::int32_t id, std::int32_t ud,
                            void* buffer) noexcept {
  payload body(sizeof(socket_message));
  const socket_message head{type, id, ud, buffer};
  std::memcpy(body.data(), &head, sizeof head);
  return body;
}

payload make_socket_message(socket_event type, std::int32_t id, std::int32_t ud,
                            std::string_view text) {
  if (text.size() > socket_text_limit) text = text.substr(0, socket_text_limit);
  payload body(sizeof(socket_message) + text.size());
  const socket_message head{type, id, ud, nullptr};
  std::memcpy(body.data(), &head, sizeof head);
  if (!text.empty()) std::memcpy(body.data() + sizeof head, text.data(), text.size());
  return body;
}

const socket_message* read_socket_message(const void* data, std::size_t size) noexcept {
  if (data == nullptr || size < sizeof(socket_message)) return nullptr;
  return static_cast<const socket_message*>(data);
}

std::string_view socket_message_text(const void* data, std::size_t size) noexcept {
  if (read_socket_message(data, size) == nullptr) return {};
  return {static_cast<const char*>(data) + sizeof(socket_message), size - sizeof(socket_message)};
}

void release_socket_buffer(message& msg) noexcept {
  if (msg.type != ptype::socket || msg.data.size() < sizeof(socket_message)) return;
  auto* head = reinterpret_cast<socket_message*>(msg.data.data());
  // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
  std::free(head->buffer);
  head->buffer = nullptr;
}

}  // namespace starling
