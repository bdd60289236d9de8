#pragma once
// RESP, the redis serialization protocol (version 2): a request encoder and an incremental
// reply parser. Pure: no I/O, no state shared between instances.
//
// Requests are arrays of bulk strings (`*<n>\r\n` then `$<len>\r\n<bytes>\r\n` per argument).
// Replies are one of `+status`, `-error`, `:integer`, `$len` bulk (`$-1`: nil), `*count`
// array (`*-1`: nil) of nested replies. RESP3 types are protocol errors.
//
// The parser accepts any byte stream; bytes that are not RESP2 within the limits below are a
// protocol error with a one-line reason, never a crash or an unbounded allocation.
//
// Thread contract: a parser belongs to one user; the encoding functions are pure.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/payload.hpp"

namespace starling::resp {

// ---- limits ------------------------------------------------------------------------------

/// The longest bulk string accepted: redis' own default (proto-max-bulk-len).
inline constexpr std::int64_t max_bulk_length = 512LL * 1024 * 1024;
/// The most elements one array may announce (2^24). Storage grows with the elements that
/// actually arrive, so a huge announced count costs nothing until the bytes come.
inline constexpr std::int64_t max_array_count = 16LL * 1024 * 1024;
/// How deep arrays may nest (redis' deepest replies nest fewer than 10 levels).
inline constexpr std::size_t max_depth = 64;
/// The longest line (a status, an error, or a header) without its CRLF.
inline constexpr std::size_t max_line_length = std::size_t{64} * 1024;

// ---- values ------------------------------------------------------------------------------

/// One reply. A plain aggregate: the field that matters depends on `type`.
struct value {
  enum class kind : std::uint8_t {
    nil,      ///< `$-1` or `*-1`
    status,   ///< `+OK`: text
    error,    ///< `-ERR ...`: text (an error reply is a value; the connection is fine)
    integer,  ///< `:42`: integer
    bulk,     ///< `$3 foo`: text (binary safe)
    array,    ///< `*n`: elements
  };

  kind type = kind::nil;
  std::int64_t integer = 0;
  std::string text;
  std::vector<value> elements;

  [[nodiscard]] static value nil() { return {}; }
  [[nodiscard]] static value status(std::string s) { return {kind::status, 0, std::move(s), {}}; }
  [[nodiscard]] static value error(std::string s) { return {kind::error, 0, std::move(s), {}}; }
  [[nodiscard]] static value number(std::int64_t n) { return {kind::integer, n, {}, {}}; }
  [[nodiscard]] static value bulk(std::string s) { return {kind::bulk, 0, std::move(s), {}}; }
  [[nodiscard]] static value array(std::vector<value> e) {
    return {kind::array, 0, {}, std::move(e)};
  }

  [[nodiscard]] bool is_nil() const noexcept { return type == kind::nil; }
  [[nodiscard]] bool is_error() const noexcept { return type == kind::error; }
  [[nodiscard]] bool is_array() const noexcept { return type == kind::array; }
  /// Whether this is the status or bulk `s` (e.g. `v.is("OK")`).
  [[nodiscard]] bool is(std::string_view s) const noexcept {
    return (type == kind::status || type == kind::bulk) && text == s;
  }

  friend bool operator==(const value&, const value&) = default;
};

/// A readable rendering for logs and test failures: `OK`, `(error) ERR x`, `(integer) 1`,
/// `"bulk"`, `(nil)`, `[a, b]`.
[[nodiscard]] std::string to_string(const value& v);

// ---- requests ----------------------------------------------------------------------------

/// One command argument: text as given, integers and floating-point numbers in decimal
/// (shortest round-trip form). Holds a view of text arguments: use it within the expression.
class arg {
 public:
  arg(std::string_view text) noexcept : text_(text) {}    // NOLINT: implicit by design
  arg(const std::string& text) noexcept : text_(text) {}  // NOLINT
  arg(const char* text) noexcept : text_(text) {}         // NOLINT
  template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, char>) arg(T n)
  noexcept {  // NOLINT
    if constexpr (std::signed_integral<T>) {
      format(static_cast<std::int64_t>(n));
    } else {
      format(static_cast<std::uint64_t>(n));
    }
  }
  arg(double n) noexcept;  // NOLINT

  [[nodiscard]] std::string_view view() const noexcept {
    return own_ != 0 ? std::string_view(digits_, own_) : text_;
  }

 private:
  void format(std::int64_t n) noexcept;
  void format(std::uint64_t n) noexcept;

  std::string_view text_;
  char digits_[32] = {};
  std::uint8_t own_ = 0;  // length of digits_ in use; 0: the text is text_
};

/// The exact size of the encoding of a command made of `args`.
[[nodiscard]] std::size_t command_size(std::span<const std::string_view> args) noexcept;
/// Writes the command into `out`, which has room for command_size(args) bytes; returns the end.
char* write_command(char* out, std::span<const std::string_view> args) noexcept;
/// Appends the command to `out` (several commands back to back make a pipeline).
void append_command(std::string& out, std::span<const std::string_view> args);
/// The command as a message body, in one allocation (none when it fits inline).
[[nodiscard]] payload encode_command(std::span<const std::string_view> args);
[[nodiscard]] payload encode_command(std::span<const arg> args);

// ---- replies -----------------------------------------------------------------------------

/// Parses one reply at a time from a byte stream that arrives in pieces.
///
///   parser p;
///   std::size_t used = 0;
///   switch (p.parse(unread_bytes, used)) { ... }   // then drop `used` bytes from the stream
///
/// The parser keeps what it has consumed of an unfinished reply (complete elements of open
/// arrays, the start of a bulk string), so each byte is looked at about once however the
/// stream is cut.
class parser {
 public:
  enum class status {
    need_more,  ///< the reply is not complete; call again with the unconsumed bytes and more
    done,       ///< a reply is complete: take() it
    failed,     ///< the bytes are not RESP2 within the limits: error() says why
  };

  /// Parses from `in`, the bytes not consumed so far. `used` is set to the bytes consumed by
  /// this call; the caller drops them and never offers them again. After `done` the next call
  /// starts the next reply. After `failed` the parser stays failed until reset().
  status parse(std::string_view in, std::size_t& used);
  /// The reply completed by the last `done`.
  [[nodiscard]] value take() { return std::move(result_); }
  /// Why the last parse failed.
  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  /// Forgets any partial reply and a failure.
  void reset();

 private:
  struct open_array {
    value array;
    std::int64_t missing = 0;  // elements still to come
  };

  status fail(std::string why);
  /// A finished value: the reply itself, or one more element of the innermost open array.
  /// True when that completed the whole reply.
  bool finish(value v);
  status read_line(std::string_view line);

  std::vector<open_array> open_;
  value bulk_;                   // the bulk string being filled
  std::int64_t bulk_left_ = -1;  // its bytes still to come; -1: not in a bulk
  value result_;
  std::string error_;
  bool failed_ = false;
};

}  // namespace starling::resp
