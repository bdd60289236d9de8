#include "actor/request.hpp"

#include <utility>

#include "core/node.hpp"

namespace starling {

request::request(node& runtime, handle_t self, message&& msg) noexcept
    : runtime_(&runtime),
      self_(self),
      source_(msg.source),
      session_(msg.session),
      body_(std::move(msg.data)) {}

request::request(request&& other) noexcept
    : runtime_(other.runtime_),
      self_(other.self_),
      source_(other.source_),
      session_(other.session_),
      answered_(std::exchange(other.answered_, true)),
      body_(std::move(other.body_)) {}

request& request::operator=(request&& other) noexcept {
  if (this != &other) {
    if (needs_reply()) fail();
    runtime_ = other.runtime_;
    self_ = other.self_;
    source_ = other.source_;
    session_ = other.session_;
    answered_ = std::exchange(other.answered_, true);
    body_ = std::move(other.body_);
  }
  return *this;
}

request::~request() {
  if (needs_reply()) fail();
}

void request::reply_raw(payload body) {
  answer(ptype::response, std::move(body));
}

void request::fail() {
  answer(ptype::error, {});
}

void request::answer(ptype type, payload body) {
  if (session_ == 0 || answered_) return;
  answered_ = true;
  runtime_->send(self_, source_, type, session_, std::move(body));
}

}  // namespace starling
