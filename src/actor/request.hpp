#pragma once
// An incoming message of the "lua" protocol, and the duty to answer it.
//
// A request that is a call (session != 0) must be answered exactly once. Moving the request
// somewhere else defers the answer (skynet.response). A call whose request object dies
// unanswered — the handler returned or threw without replying, or the service exited with
// the handler suspended — is failed with PTYPE_ERROR, so the caller never waits forever.
// Thread contract: use it only from the service that received it.

#include <cstdint>
#include <span>

#include "base/payload.hpp"
#include "core/handle.hpp"
#include "core/message.hpp"
#include "seri/reader.hpp"
#include "seri/value.hpp"
#include "seri/writer.hpp"

namespace starling {

class node;

class request {
 public:
  request(node& runtime, handle_t self, message&& msg) noexcept;
  request(request&& other) noexcept;
  request& operator=(request&& other) noexcept;
  request(const request&) = delete;
  request& operator=(const request&) = delete;
  ~request();

  [[nodiscard]] handle_t source() const noexcept { return source_; }
  [[nodiscard]] std::int32_t session() const noexcept { return session_; }
  [[nodiscard]] std::span<const std::byte> body() const noexcept { return body_.bytes(); }
  /// The packed arguments, decoded. Throws seri::error on a malformed body.
  [[nodiscard]] seri::value_list args() const { return seri::unpack(body()); }
  /// A pull decoder over the arguments (no allocation for numbers and strings).
  [[nodiscard]] seri::reader reader() const { return seri::reader(body()); }
  /// True for a call that has not been answered yet.
  [[nodiscard]] bool needs_reply() const noexcept { return session_ != 0 && !answered_; }

  /// Answers the call with packed values. A send (session 0) ignores it.
  template <class... Values>
  void reply(const Values&... values) {
    reply_raw(seri::pack(values...));
  }
  /// Answers the call with a body as given.
  void reply_raw(payload body);
  /// Fails the call: the caller sees errc::call_failed.
  void fail();

 private:
  void answer(ptype type, payload body);

  node* runtime_;
  handle_t self_;
  handle_t source_;
  std::int32_t session_;
  bool answered_ = false;
  payload body_;
};

}  // namespace starling
