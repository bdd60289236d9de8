#pragma once
// BSON, the wire format of skynet's bson module (docs/LIBRARIES.md, "bson"; native use:
// docs/API.md).
//
// Three levels, each built on the one before:
//   - writer: appends elements to a byte string, with skynet's checks (UTF-8 keys and strings,
//     the element a skynet "special" string stands for);
//   - reader: walks a document's elements with skynet's bounds checks and error texts, without
//     trusting any length in it;
//   - value / document: a C++ tree, encode() and decode() for native services.
// The Lua module (lua/bson_module.cpp) maps Lua values onto the first two.
//
// Bad input raises bson::error whose what() is skynet's own text.

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace starling::bson {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Element type bytes.
enum class type : std::uint8_t {
  real = 0x01,
  string = 0x02,
  document = 0x03,
  array = 0x04,
  binary = 0x05,
  undefined = 0x06,
  objectid = 0x07,
  boolean = 0x08,
  date = 0x09,
  null = 0x0a,
  regex = 0x0b,
  dbpointer = 0x0c,
  jscode = 0x0d,
  symbol = 0x0e,
  codews = 0x0f,
  int32 = 0x10,
  timestamp = 0x11,
  int64 = 0x12,
  minkey = 0xff,
  maxkey = 0x7f,
};

/// Deeper documents are refused, on encoding (skynet's limit: 128 tables below the top) and on
/// decoding (a margin above it), so that no input can exhaust the stack.
inline constexpr int max_encode_depth = 128;
inline constexpr int max_decode_depth = 256;

/// Raises "Invalid utf8 string" unless `s` is UTF-8 as skynet checks it (sequences of at most
/// 4 bytes, no overlong forms, code points up to U+10FFFF, surrogates accepted).
void check_utf8(std::string_view s);

inline void store_le32(char* at, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i)
    at[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void store_le64(char* at, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i)
    at[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline std::uint32_t load_le32(const char* at) noexcept {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | static_cast<std::uint8_t>(at[i]);
  return v;
}
inline std::uint64_t load_le64(const char* at) noexcept {
  return load_le32(at) | static_cast<std::uint64_t>(load_le32(at + 4)) << 32;
}

/// Appends BSON to a string it does not own.
class writer {
 public:
  explicit writer(std::string& out) noexcept : out_(out) {}

  /// Starts a (sub)document: returns where its length goes, for end().
  std::size_t begin();
  /// Ends the document begun at `at`: its terminator and its length.
  void end(std::size_t at);

  /// An element's type and key (UTF-8 checked; a key with a NUL is written as it is).
  void key(type t, std::string_view key);
  void int32(std::int32_t v);
  void int64(std::int64_t v);
  void real(double v);
  void boolean(bool v);
  /// A string value: its length with the terminator, the bytes (UTF-8 checked), the terminator.
  void string(std::string_view s);
  /// A C string (UTF-8 checked), as in a regex.
  void cstring(std::string_view s);
  /// Bytes copied verbatim (an already encoded document, a raw element body).
  void raw(std::string_view bytes);

  /// An integer element: int32 when it fits, else int64.
  void integer(std::string_view key, std::int64_t v);
  /// A double, boolean or string element (the same as key() then real(), boolean(), string()).
  void real_element(std::string_view key, double v);
  void boolean_element(std::string_view key, bool v);
  void string_element(std::string_view key, std::string_view s);
  /// The element of a skynet "special" string (2 bytes or more, the first 0, the second the
  /// type: spec 3.2): "\0\5" subtype data, "\0\7" 12 bytes, "\0\9" u32 seconds, ...
  void special(std::string_view key, std::string_view value);

 private:
  // Type, key and the first `n` bytes of the value in one append (the key is UTF-8 checked).
  void element(type t, std::string_view key, const char* value, std::size_t n);

  std::string& out_;
};

// Inline: the value's size is a constant at each caller.
inline void writer::element(type t, std::string_view k, const char* value, std::size_t n) {
  constexpr std::size_t assembled = 64;  // most keys: one append, not four
  if (k.size() + n + 2 > assembled) {
    key(t, k);
    out_.append(value, n);
    return;
  }
  check_utf8(k);
  char b[assembled];
  b[0] = static_cast<char>(t);
  std::memcpy(b + 1, k.data(), k.size());
  b[k.size() + 1] = '\0';
  std::memcpy(b + k.size() + 2, value, n);
  out_.append(b, k.size() + 2 + n);
}

/// One element read by reader::next. Which fields hold its value depends on `kind`.
struct element {
  type kind = type::null;
  std::string_view key;      // a NUL follows it in the document
  std::int64_t integer = 0;  // int32, int64; date: milliseconds; boolean: the byte
  double real = 0;
  std::string_view bytes;    // string, binary data, objectid (12), regex pattern, raw body (0c-0f)
  std::string_view options;  // regex options
  std::uint8_t subtype = 0;  // binary
  std::uint32_t increment = 0, seconds = 0;  // timestamp
  std::size_t offset = 0;  // where the value starts, from the start of the top-level document
  const char* child_at = nullptr;  // document, array: the elements, for reader::child
  std::int64_t child_size = 0;
};

/// Walks the elements of one (sub)document. Lengths inside are checked against what is
/// there; the errors are skynet's ("Invalid bson block (<left>:<needed>)", ...).
class reader {
 public:
  /// The document that starts `doc`: its length field must fit in `doc`.
  explicit reader(std::string_view doc);

  /// The next element, or false at the end. A document or array element is read whole; its
  /// elements are read by child(e).
  bool next(element& e);
  /// The elements of a document or array element; raises past max_decode_depth.
  [[nodiscard]] reader child(const element& e) const;

 private:
  reader(const char* base, const char* at, std::int64_t size, int depth) noexcept
      : base_(base), at_(at), size_(size), depth_(depth) {}
  void need(std::int64_t n) const;
  std::uint8_t byte();
  std::int32_t i32();
  std::int64_t i64();
  std::string_view bytes(std::int64_t n);
  std::string_view cstring();
  void sub_document(element& e);

  const char* base_;   // the top-level document: a move back never goes before it
  const char* at_;     // the next byte
  std::int64_t size_;  // bytes left (skynet's count: a bad length can make it negative)
  int depth_;
};

// ---- the C++ tree ----

struct value;
struct member;
using document = std::vector<member>;  // in wire order; decode keeps duplicate keys
using array = std::vector<value>;

struct null_value {
  friend bool operator==(null_value, null_value) = default;
};
struct min_key {
  friend bool operator==(min_key, min_key) = default;
};
struct max_key {
  friend bool operator==(max_key, max_key) = default;
};
struct binary {
  std::uint8_t subtype = 0;
  std::string data;
  friend bool operator==(const binary&, const binary&) = default;
};
struct objectid {
  std::array<std::uint8_t, 12> bytes{};
  friend bool operator==(const objectid&, const objectid&) = default;
};
struct date {
  std::int64_t milliseconds = 0;
  friend bool operator==(date, date) = default;
};
struct timestamp {
  std::uint32_t increment = 0, seconds = 0;
  friend bool operator==(timestamp, timestamp) = default;
};
struct regex {
  std::string pattern, options;
  friend bool operator==(const regex&, const regex&) = default;
};
/// DBPointer, JS code, symbol, code with scope: the element body as on the wire.
struct raw_element {
  type kind = type::jscode;
  std::string body;
  friend bool operator==(const raw_element&, const raw_element&) = default;
};

struct value {
  using variant =
      std::variant<null_value, bool, std::int32_t, std::int64_t, double, std::string, document,
                   array, binary, objectid, date, timestamp, regex, min_key, max_key, raw_element>;
  variant v;

  value() = default;
  template <class T>
  requires std::is_constructible_v<variant, T&&> value(T&& x)  // NOLINT: implicit, like the variant
      : v(std::forward<T>(x)) {}
  value(const char* s);  // NOLINT: implicit, a string

  friend bool operator==(const value&, const value&);
};

struct member {
  std::string key;
  value val;
  friend bool operator==(const member&, const member&) = default;
};

// Defined once member is complete: they instantiate the variant's operations.
inline value::value(const char* s) : v(std::string(s)) {}
inline bool operator==(const value& a, const value& b) {
  return a.v == b.v;
}

/// The document's bytes. Keys and strings are UTF-8 checked; depth limited to max_encode_depth.
std::string encode(const document& doc);
/// Appends the document's bytes to `out` (one buffer for many documents).
void encode_to(std::string& out, const document& doc);
/// The document at the start of `bytes` (its length field must fit).
document decode(std::string_view bytes);

/// A new object id: big-endian seconds, 3 bytes of a host name hash, the pid's 2 low bytes, a
/// big-endian 3-byte per-process counter.
objectid new_objectid();
/// 24 characters to 12 bytes, skynet's way: letters are c - 'a' + 10 in either case (so g..z
/// spill into the next nibble), other characters 0. Raises unless 24 characters.
objectid objectid_from_hex(std::string_view hex);

}  // namespace starling::bson
