#pragma once
// HTTP/1.x messages and WebSocket frames as bytes, without I/O: the parsers of the native web
// endpoints (docs/WEB.md), fuzzed by fuzz/http_request_fuzz.cpp and fuzz/ws_frame_fuzz.cpp.
// The limits and status codes are those of skynet's http.httpd (413 for an oversized header
// or body, 400 for a bad field, 501 for an unknown transfer coding, 505 for a version past
// 1.1); what skynet raises an assertion for (a bad request line) is a 400 here.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace starling::net::http {

struct limits {
  std::size_t header = 8192;   ///< bytes of request line and fields
  std::size_t body = 1 << 20;  ///< bytes of body (chunked: the decoded total)
};

/// A request (method, target) or a response (status, reason). Field names are lower-cased;
/// values keep their bytes after the colon and leading blanks.
struct message {
  std::string method;
  std::string target;
  int status = 0;
  std::string reason;
  int minor_version = 1;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;

  /// The first value of a field, by lower-case name.
  [[nodiscard]] std::optional<std::string_view> field(std::string_view name) const;
  /// HTTP/1.1 without "Connection: close", or HTTP/1.0 with "Connection: keep-alive".
  [[nodiscard]] bool keep_alive() const;
};

/// Incremental parser of one message after another on a connection. feed() bytes as they
/// come, then parse(): complete (take() the message; bytes past it stay for the next),
/// incomplete (feed more), or failed (status() is the HTTP code to answer; the connection
/// should be closed).
class parser {
 public:
  enum class kind { request, response };
  enum class state { incomplete, complete, failed };

  explicit parser(kind k, limits l = {}) : kind_(k), limits_(l) {}

  void feed(std::string_view bytes) { buffer_.append(bytes); }
  state parse();
  /// The peer closed: a response delimited by the close is complete, anything else failed.
  state finish();
  /// For a response to HEAD: no body whatever the fields say. Set before parse().
  void expect_no_body() { no_body_ = true; }
  [[nodiscard]] int status() const noexcept { return status_; }
  message take();
  /// The bytes received past the messages taken (after an upgrade: the other protocol's).
  std::string take_rest();

 private:
  enum class phase { head, length, chunk_size, chunk_data, trailers, until_close, done };
  state fail(int status);
  state parse_head();
  state parse_chunks();
  bool parse_fields(std::string_view block, std::size_t from_line);

  kind kind_;
  limits limits_;
  std::string buffer_;
  std::size_t used_ = 0;  // bytes of buffer_ consumed by the current message
  phase phase_ = phase::head;
  std::size_t remaining_ = 0;
  bool no_body_ = false;
  int status_ = 0;
  message message_;
};

/// A request as bytes: the request line, `fields` in order, Content-Length, the body.
std::string encode_request(std::string_view method, std::string_view target,
                           const std::vector<std::pair<std::string, std::string>>& fields,
                           std::string_view body);
/// A response as bytes: status line (the standard reason), `fields`, Content-Length, body.
std::string encode_response(int status,
                            const std::vector<std::pair<std::string, std::string>>& fields,
                            std::string_view body);
/// The standard reason phrase of a status code, or "".
std::string_view reason_phrase(int status);

}  // namespace starling::net::http

namespace starling::net::ws {

enum opcode : std::uint8_t {
  continuation = 0,
  text = 1,
  binary = 2,
  close = 8,
  ping = 9,
  pong = 10,
};

struct frame {
  bool fin = true;
  std::uint8_t op = text;
  std::string payload;  ///< unmasked
};

enum class decoded { incomplete, complete, too_large, bad_frame };

/// Decodes the frame at the front of `bytes`: on `complete` fills `out` and sets `used`.
/// A payload over `limit` is `too_large` (known from the header alone); a reserved opcode, a
/// fragmented or long (> 125 bytes) control frame, or an unmasked frame when `need_mask`
/// (frames from a client) are `bad_frame`.
decoded decode(std::string_view bytes, std::size_t limit, bool need_mask, frame& out,
               std::size_t& used);
/// One FIN frame; masked with `mask` when given (frames from a client).
std::string encode(std::uint8_t op, std::string_view payload,
                   std::optional<std::uint32_t> mask = std::nullopt);
/// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC 6455 GUID)).
std::string accept_key(std::string_view key);

}  // namespace starling::net::ws
