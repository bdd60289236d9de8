// The BSON writer and reader with skynet's checks and error texts (spec: the data libraries,
// section 3), and the C++ tree on top of them.
#include "seri/bson.hpp"

#include <unistd.h>

#include <atomic>
#include <bit>
#include <charconv>
#include <cstring>
#include <ctime>
#include <string>

namespace starling::bson {

namespace {

std::string block_error(std::int64_t left, std::int64_t needed) {
  return "Invalid bson block (" + std::to_string(left) + ":" + std::to_string(needed) + ")";
}

// The length of the UTF-8 sequence at the start of `s` (not empty), or 0 when skynet refuses
// it: its lead byte says how many continuation bytes follow, then the code point must need
// them (no overlong form) and stay within U+10FFFF.
std::size_t utf8_sequence(std::string_view s) noexcept {
  static constexpr std::uint32_t smallest_above[] = {0xff, 0x7f, 0x7ff, 0xffff};
  std::uint32_t lead = static_cast<std::uint8_t>(s[0]);
  if (lead < 0x80) return 1;
  std::uint32_t code = 0;
  std::size_t count = 0;
  while ((lead & 0x40) != 0) {
    ++count;
    if (count >= s.size() || count > 4) return 0;
    const auto next = static_cast<std::uint8_t>(s[count]);
    if ((next & 0xc0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3f);
    lead <<= 1;
  }
  code |= (lead & 0x7f) << (count * 5);
  if (count > 3 || code > 0x10ffff || code <= smallest_above[count]) return 0;
  return count + 1;
}

std::string_view array_key(char (&buffer)[16], std::size_t index) noexcept {
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, index);
  return {buffer, static_cast<std::size_t>(r.ptr - buffer)};
}

}  // namespace

namespace {

// True when no byte has its top bit set: the common case (keys, most text), tested a word
// at a time (a short tail as two overlapping 4-byte words).
bool is_ascii(std::string_view s) {
  const char* p = s.data();
  std::size_t n = s.size();
  std::uint64_t any = 0;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, sizeof v);
    any |= v;
  }
  if (n >= 4) {
    std::uint32_t a = 0;
    std::uint32_t b = 0;
    std::memcpy(&a, p, sizeof a);
    std::memcpy(&b, p + n - 4, sizeof b);
    any |= a | b;
  } else {
    for (std::size_t i = 0; i < n; ++i)
      any |= static_cast<std::uint8_t>(p[i]);
  }
  return (any & 0x8080808080808080ULL) == 0;
}

}  // namespace

void check_utf8(std::string_view s) {
  if (is_ascii(s)) return;
  while (!s.empty()) {
    if (static_cast<std::uint8_t>(s[0]) < 0x80) {
      s.remove_prefix(1);
      continue;
    }
    const std::size_t n = utf8_sequence(s);
    if (n == 0) throw error("Invalid utf8 string");
    s.remove_prefix(n);
  }
}

// ---- writer ----

std::size_t writer::begin() {
  const std::size_t at = out_.size();
  out_.append(4, '\0');
  return at;
}

void writer::end(std::size_t at) {
  out_.push_back('\0');
  store_le32(out_.data() + at, static_cast<std::uint32_t>(out_.size() - at));
}

void writer::key(type t, std::string_view key) {
  out_.push_back(static_cast<char>(t));
  cstring(key);
}

void writer::int32(std::int32_t v) {
  char b[4];
  store_le32(b, static_cast<std::uint32_t>(v));
  out_.append(b, sizeof b);
}

void writer::int64(std::int64_t v) {
  char b[8];
  store_le64(b, static_cast<std::uint64_t>(v));
  out_.append(b, sizeof b);
}

void writer::real(double v) {
  int64(std::bit_cast<std::int64_t>(v));
}

void writer::boolean(bool v) {
  out_.push_back(v ? '\1' : '\0');
}

void writer::string(std::string_view s) {
  int32(static_cast<std::int32_t>(s.size() + 1));
  cstring(s);
}

void writer::cstring(std::string_view s) {
  check_utf8(s);
  out_.append(s);
  out_.push_back('\0');
}

void writer::raw(std::string_view bytes) {
  out_.append(bytes);
}

void writer::integer(std::string_view k, std::int64_t v) {
  char b[8];
  if (v >= INT32_MIN && v <= INT32_MAX) {
    store_le32(b, static_cast<std::uint32_t>(v));
    element(type::int32, k, b, 4);
  } else {
    store_le64(b, static_cast<std::uint64_t>(v));
    element(type::int64, k, b, 8);
  }
}

void writer::real_element(std::string_view k, double v) {
  char b[8];
  store_le64(b, std::bit_cast<std::uint64_t>(v));
  element(type::real, k, b, 8);
}

void writer::boolean_element(std::string_view k, bool v) {
  const char b = v ? '\1' : '\0';
  element(type::boolean, k, &b, 1);
}

void writer::string_element(std::string_view k, std::string_view s) {
  char b[4];
  store_le32(b, static_cast<std::uint32_t>(s.size() + 1));
  element(type::string, k, b, 4);
  cstring(s);
}

void writer::special(std::string_view k, std::string_view value) {
  const auto t = static_cast<type>(static_cast<std::uint8_t>(value[1]));
  const std::string_view body = value.substr(2);
  switch (t) {
    case type::binary:
      // The body is the subtype byte then the data; the length counts the data only (so a
      // bare "\0\5" gives -1, as skynet writes it).
      key(t, k);
      int32(static_cast<std::int32_t>(body.size()) - 1);
      raw(body);
      return;
    case type::objectid:
      // skynet prints the rest as a C string: up to its first NUL.
      if (body.size() != 12)
        throw error("Invalid object id " + std::string(body.substr(0, body.find('\0'))));
      key(t, k);
      raw(body);
      return;
    case type::dbpointer:
    case type::jscode:
    case type::symbol:
    case type::codews:
      key(t, k);
      raw(body);
      return;
    case type::date:
      if (body.size() != 4) throw error("Invalid date");
      key(t, k);
      int64(static_cast<std::int64_t>(load_le32(body.data())) * 1000);
      return;
    case type::timestamp:
      if (body.size() != 8) throw error("Invalid timestamp");
      key(t, k);
      raw(body);
      return;
    case type::regex: {
      // pattern NUL options NUL: split at the last NUL before the final byte.
      const std::string_view both = body.substr(0, body.empty() ? 0 : body.size() - 1);
      const std::size_t split = both.rfind('\0');
      if (split == std::string_view::npos) throw error("Invalid regex");
      key(t, k);
      cstring(both.substr(0, split));
      cstring(both.substr(split + 1));
      return;
    }
    case type::null:
    case type::minkey:
    case type::maxkey:
      key(t, k);
      return;
    case type::int64:
      if (body.size() != 8) throw error("Invalid int64");
      key(t, k);
      raw(body);
      return;
    default:
      throw error("Invalid subtype " + std::to_string(static_cast<int>(t)));
  }
}

// ---- reader ----

reader::reader(std::string_view doc) : base_(doc.data()), at_(doc.data()), size_(0), depth_(0) {
  if (doc.size() < 4) throw error(block_error(static_cast<std::int64_t>(doc.size()), 4));
  const auto length = static_cast<std::int32_t>(load_le32(doc.data()));
  if (length > 0 && static_cast<std::size_t>(length) > doc.size()) {
    throw error(block_error(static_cast<std::int64_t>(doc.size()), length));
  }
  // skynet reads the top level as it reads a sub-document, from a block of the length given.
  size_ = length;
  element top;
  sub_document(top);
  at_ = top.child_at;
  size_ = top.child_size;
}

void reader::need(std::int64_t n) const {
  if (size_ < n) throw error(block_error(size_, n));
}

std::uint8_t reader::byte() {
  need(1);
  --size_;
  return static_cast<std::uint8_t>(*at_++);
}

std::int32_t reader::i32() {
  need(4);
  const auto v = static_cast<std::int32_t>(load_le32(at_));
  at_ += 4;
  size_ -= 4;
  return v;
}

std::int64_t reader::i64() {
  need(8);
  const auto v = static_cast<std::int64_t>(load_le64(at_));
  at_ += 8;
  size_ -= 8;
  return v;
}

std::string_view reader::bytes(std::int64_t n) {
  // A negative count passes skynet's check; only a sub-document's moves back (sub_document).
  if (n < 0) throw error(block_error(size_, n));
  need(n);
  const std::string_view r(at_, static_cast<std::size_t>(n));
  at_ += n;
  size_ -= n;
  return r;
}

std::string_view reader::cstring() {
  const std::int64_t left = size_ > 0 ? size_ : 0;
  const std::string_view rest(at_, static_cast<std::size_t>(left));
  const std::size_t end = rest.find('\0');
  if (end == std::string_view::npos) throw error("Invalid bson block : cstring");
  at_ += end + 1;
  size_ -= static_cast<std::int64_t>(end + 1);
  return rest.substr(0, end);
}

void reader::sub_document(element& e) {
  const std::int64_t length = i32();
  e.child_at = at_;
  e.child_size = length - 5;
  if (e.child_size >= 0) {
    bytes(e.child_size);
  } else {
    // skynet moves back over bytes already read: its later messages count from there. Never
    // before the top-level document.
    if (-e.child_size > at_ - base_) throw error(block_error(size_, e.child_size));
    at_ += e.child_size;
    size_ -= e.child_size;
  }
  if (byte() != 0) throw error("Invalid document end");
}

bool reader::next(element& e) {
  if (size_ == 0) return false;
  e.kind = static_cast<type>(byte());
  e.key = cstring();
  e.offset = static_cast<std::size_t>(at_ - base_);
  switch (e.kind) {
    case type::real:
      e.real = std::bit_cast<double>(i64());
      break;
    case type::boolean:
      e.integer = byte();
      break;
    case type::string: {
      const std::int32_t length = i32();
      if (length <= 0) throw error("Invalid bson string , length = " + std::to_string(length));
      // The byte where the terminator belongs is not checked, as in skynet.
      e.bytes = bytes(length).substr(0, static_cast<std::size_t>(length) - 1);
      break;
    }
    case type::document:
    case type::array:
      sub_document(e);
      // A length below 5 moved back (the element could be read again, forever). skynet's
      // decoder fails on the first read inside: the same error, before anyone walks on.
      if (e.child_size < 0) throw error(block_error(e.child_size, 1));
      break;
    case type::binary: {
      const std::int32_t length = i32();
      e.subtype = byte();
      e.bytes = bytes(length);
      break;
    }
    case type::objectid:
      e.bytes = bytes(12);
      break;
    case type::date:
    case type::int64:
      e.integer = i64();
      break;
    case type::null:
    case type::minkey:
    case type::maxkey:
      break;
    case type::regex:
      e.bytes = cstring();
      e.options = cstring();
      break;
    case type::int32:
      e.integer = i32();
      break;
    case type::timestamp:
      e.increment = static_cast<std::uint32_t>(i32());
      e.seconds = static_cast<std::uint32_t>(i32());
      break;
    case type::dbpointer:
    case type::jscode:
    case type::symbol:
    case type::codews: {
      // The body starts at its length field; what the length counts differs by type.
      const char* start = at_;
      const std::int64_t length = i32();
      const std::int64_t after_length = e.kind == type::dbpointer ? length + 12
                                        : e.kind == type::codews  ? length - 4
                                                                  : length;
      bytes(after_length);
      e.bytes = std::string_view(start, static_cast<std::size_t>(after_length + 4));
      break;
    }
    default:
      throw error("Invalid bson type : " + std::to_string(static_cast<int>(e.kind)));
  }
  return true;
}

reader reader::child(const element& e) const {
  if (depth_ + 1 > max_decode_depth) throw error("Too depth while decoding bson");
  return {base_, e.child_at, e.child_size, depth_ + 1};
}

// ---- the C++ tree ----

namespace {

void encode_value(writer& w, std::string_view key, const value& v, int depth);

void encode_members(writer& w, const document& doc, int depth) {
  const std::size_t at = w.begin();
  for (const member& m : doc)
    encode_value(w, m.key, m.val, depth);
  w.end(at);
}

void encode_items(writer& w, const array& items, int depth) {
  const std::size_t at = w.begin();
  char buffer[16];
  for (std::size_t i = 0; i < items.size(); ++i) {
    encode_value(w, array_key(buffer, i), items[i], depth);
  }
  w.end(at);
}

void encode_value(writer& w, std::string_view key, const value& v, int depth) {
  struct visitor {
    writer& w;
    std::string_view key;
    int depth;
    void operator()(null_value) const { w.key(type::null, key); }
    void operator()(min_key) const { w.key(type::minkey, key); }
    void operator()(max_key) const { w.key(type::maxkey, key); }
    void operator()(bool b) const {
      w.key(type::boolean, key);
      w.boolean(b);
    }
    void operator()(std::int32_t i) const {
      w.key(type::int32, key);
      w.int32(i);
    }
    void operator()(std::int64_t i) const {
      w.key(type::int64, key);
      w.int64(i);
    }
    void operator()(double d) const {
      w.key(type::real, key);
      w.real(d);
    }
    void operator()(const std::string& s) const {
      w.key(type::string, key);
      w.string(s);
    }
    void operator()(const document& d) const {
      if (depth >= max_encode_depth) throw error("Too depth while encoding bson");
      w.key(type::document, key);
      encode_members(w, d, depth + 1);
    }
    void operator()(const array& a) const {
      if (depth >= max_encode_depth) throw error("Too depth while encoding bson");
      w.key(type::array, key);
      encode_items(w, a, depth + 1);
    }
    void operator()(const binary& b) const {
      w.key(type::binary, key);
      w.int32(static_cast<std::int32_t>(b.data.size()));
      w.raw(std::string_view(reinterpret_cast<const char*>(&b.subtype), 1));
      w.raw(b.data);
    }
    void operator()(const objectid& o) const {
      w.key(type::objectid, key);
      w.raw(std::string_view(reinterpret_cast<const char*>(o.bytes.data()), o.bytes.size()));
    }
    void operator()(date d) const {
      w.key(type::date, key);
      w.int64(d.milliseconds);
    }
    void operator()(timestamp t) const {
      w.key(type::timestamp, key);
      w.int32(static_cast<std::int32_t>(t.increment));
      w.int32(static_cast<std::int32_t>(t.seconds));
    }
    void operator()(const regex& r) const {
      w.key(type::regex, key);
      w.cstring(r.pattern);
      w.cstring(r.options);
    }
    void operator()(const raw_element& r) const {
      w.key(r.kind, key);
      w.raw(r.body);
    }
  };
  std::visit(visitor{w, key, depth}, v.v);
}

value decode_value(const reader& from, const element& e);

document decode_members(reader r) {
  document doc;
  element e;
  while (r.next(e))
    doc.push_back({std::string(e.key), decode_value(r, e)});
  return doc;
}

array decode_items(reader r) {
  array items;
  element e;
  while (r.next(e))
    items.push_back(decode_value(r, e));
  return items;
}

value decode_value(const reader& from, const element& e) {
  switch (e.kind) {
    case type::real:
      return e.real;
    case type::boolean:
      return e.integer != 0;
    case type::string:
      return std::string(e.bytes);
    case type::document:
      return decode_members(from.child(e));
    case type::array:
      return decode_items(from.child(e));
    case type::binary:
      return binary{e.subtype, std::string(e.bytes)};
    case type::objectid: {
      objectid o;
      for (std::size_t i = 0; i < o.bytes.size(); ++i)
        o.bytes[i] = static_cast<std::uint8_t>(e.bytes[i]);
      return o;
    }
    case type::date:
      return date{e.integer};
    case type::int64:
      return e.integer;
    case type::int32:
      return static_cast<std::int32_t>(e.integer);
    case type::null:
      return null_value{};
    case type::minkey:
      return min_key{};
    case type::maxkey:
      return max_key{};
    case type::regex:
      return regex{std::string(e.bytes), std::string(e.options)};
    case type::timestamp:
      return timestamp{e.increment, e.seconds};
    default:  // the raw kinds: reader::next refuses the others
      return raw_element{e.kind, std::string(e.bytes)};
  }
}

}  // namespace

void encode_to(std::string& out, const document& doc) {
  writer w(out);
  encode_members(w, doc, 0);
}

std::string encode(const document& doc) {
  std::string out;
  out.reserve(64);
  encode_to(out, doc);
  return out;
}

document decode(std::string_view bytes) {
  return decode_members(reader(bytes));
}

// ---- object ids ----

namespace {

struct objectid_source {
  std::array<std::uint8_t, 5> header{};
  std::atomic<std::uint32_t> counter;

  objectid_source() {
    char host[256] = {};
    std::uint32_t h = 0;
    if (::gethostname(host, sizeof host - 1) == 0) {
      for (const char* c = host; *c != '\0'; ++c)
        h = h * 31 + static_cast<std::uint8_t>(*c);
    }
    const auto pid = static_cast<std::uint32_t>(::getpid());
    header = {static_cast<std::uint8_t>(h), static_cast<std::uint8_t>(h >> 8),
              static_cast<std::uint8_t>(h >> 16), static_cast<std::uint8_t>(pid),
              static_cast<std::uint8_t>(pid >> 8)};
    counter.store(h ^ static_cast<std::uint32_t>(std::time(nullptr)));
  }
};

std::uint8_t hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
  if (c >= 'a' && c <= 'z') return static_cast<std::uint8_t>(c - 'a' + 10);
  if (c >= 'A' && c <= 'Z') return static_cast<std::uint8_t>(c - 'A' + 10);
  return 0;
}

}  // namespace

objectid new_objectid() {
  static objectid_source source;
  const auto now = static_cast<std::uint32_t>(std::time(nullptr));
  const std::uint32_t n = source.counter.fetch_add(1, std::memory_order_relaxed);
  objectid o;
  o.bytes = {static_cast<std::uint8_t>(now >> 24),
             static_cast<std::uint8_t>(now >> 16),
             static_cast<std::uint8_t>(now >> 8),
             static_cast<std::uint8_t>(now),
             source.header[0],
             source.header[1],
             source.header[2],
             source.header[3],
             source.header[4],
             static_cast<std::uint8_t>(n >> 16),
             static_cast<std::uint8_t>(n >> 8),
             static_cast<std::uint8_t>(n)};
  return o;
}

objectid objectid_from_hex(std::string_view hex) {
  if (hex.size() != 24) throw error("Invalid objectid " + std::string(hex));
  objectid o;
  for (std::size_t i = 0; i < o.bytes.size(); ++i) {
    // A shift in a byte: values above 15 spill into the high nibble, as in skynet.
    o.bytes[i] =
        static_cast<std::uint8_t>((hex_value(hex[2 * i]) << 4) | hex_value(hex[2 * i + 1]));
  }
  return o;
}

}  // namespace starling::bson
