#include "seri/reader.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <tuple>
#include <utility>

#include "seri/format.hpp"

namespace starling::seri {

namespace {

namespace line = format::line;

constexpr std::size_t npos = static_cast<std::size_t>(-1);

[[noreturn]] void throw_stream_error(std::size_t remaining, const std::string& detail) {
  throw error("Invalid serialize stream " + std::to_string(remaining) + " (" + detail + ")");
}

[[noreturn]] void throw_at_line(std::size_t remaining, int line_number) {
  throw_stream_error(remaining, "line:" + std::to_string(line_number));
}

const char* kind_name(value::kind k) {
  switch (k) {
    case value::kind::nil:
      return "nil";
    case value::kind::boolean:
      return "boolean";
    case value::kind::integer:
      return "integer";
    case value::kind::real:
      return "real";
    case value::kind::string:
      return "string";
    case value::kind::light_userdata:
      return "lightuserdata";
    case value::kind::table:
      return "table";
  }
  return "?";
}

std::uint64_t mix(std::uint64_t x) noexcept {
  // splitmix64's finaliser: cheap, and spreads sequential integer keys over the slots.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::uint64_t key_hash(const value& k) {
  switch (k.type()) {
    case value::kind::boolean:
      return k.as_boolean() ? 1 : 2;
    case value::kind::integer:
      return mix(static_cast<std::uint64_t>(k.as_integer()));
    case value::kind::real:
      return mix(std::bit_cast<std::uint64_t>(k.as_real()) ^ 0x5bd1e995);
    case value::kind::string:
      return std::hash<std::string_view>{}(k.as_string());
    case value::kind::light_userdata:
      return mix(k.as_light_userdata().address ^ 0x27d4eb2f);
    case value::kind::nil:
    case value::kind::table:
      break;
  }
  return 0;
}

// Raw key identity for keys read from the stream: every decoded table key is a new table,
// so it never equals an earlier key.
bool same_key(const value& a, const value& b) {
  if (a.type() != b.type() || a.is_table()) return false;
  return a == b;
}

using hash_part = std::vector<std::pair<value, value>>;

// Finds earlier occurrences of a key in a table's hash part. Small hash parts are scanned;
// from `index_threshold` pairs on, an open-addressing index keeps a stream of many pairs
// linear rather than quadratic.
class key_index {
 public:
  static constexpr std::size_t index_threshold = 8;

  void clear() noexcept {
    slots_.clear();
    used_ = 0;
  }

  [[nodiscard]] std::size_t find(const hash_part& hash, const value& key) const {
    if (slots_.empty()) {
      for (std::size_t i = 0; i < hash.size(); ++i) {
        if (same_key(hash[i].first, key)) return i;
      }
      return npos;
    }
    if (key.is_table()) return npos;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t s = key_hash(key) & mask;; s = (s + 1) & mask) {
      std::size_t entry = slots_[s];
      if (entry == 0) return npos;
      if (same_key(hash[entry - 1].first, key)) return entry - 1;
    }
  }

  /// Call after appending hash.back().
  void added(const hash_part& hash) {
    if (slots_.empty()) {
      if (hash.size() >= index_threshold) rebuild(hash, 32);
      return;
    }
    if ((used_ + 1) * 2 > slots_.size()) {
      rebuild(hash, slots_.size() * 2);
    } else {
      place(hash, hash.size() - 1);
    }
  }

 private:
  void rebuild(const hash_part& hash, std::size_t slot_count) {
    slots_.assign(slot_count, 0);
    used_ = 0;
    for (std::size_t i = 0; i < hash.size(); ++i)
      place(hash, i);
  }

  void place(const hash_part& hash, std::size_t position) {
    const value& key = hash[position].first;
    if (key.is_table()) return;  // never looked up
    const std::size_t mask = slots_.size() - 1;
    std::size_t s = key_hash(key) & mask;
    while (slots_[s] != 0)
      s = (s + 1) & mask;
    slots_[s] = position + 1;
    ++used_;
  }

  std::vector<std::size_t> slots_;  // position in the hash part + 1; 0 is empty
  std::size_t used_ = 0;
};

}  // namespace

// One table being filled. Frames are reused from read to read.
struct reader::frame {
  enum class stage : std::uint8_t { array, key, value, assign };

  table* t = nullptr;
  std::uint32_t array_left = 0;
  stage at = stage::array;
  value key;
  value val;
  key_index index;
};

reader::reader(std::span<const std::byte> bytes) noexcept
    : pos_(bytes.data()), end_(bytes.data() + bytes.size()) {}

reader::~reader() = default;

reader::frame& reader::frame_at(std::size_t level) {
  return level == 0 ? *outermost_ : frames_[level - 1];
}

// ---- errors ------------------------------------------------------------------

void reader::fail(int line_number) const {
  throw_at_line(remaining(), line_number);
}

void reader::fail_end() const {
  throw_stream_error(0, "no value left");
}

void reader::fail_depth() const {
  throw_stream_error(remaining(), "depth limit " + std::to_string(max_depth));
}

void reader::fail_kind(value::kind expected) const {
  std::uint8_t tag = peek_tag();
  if ((tag & 7) == 7) throw_at_line(remaining() - 1, line::bad_type);
  throw_stream_error(remaining(), std::string("expected ") + kind_name(expected) + ", got " +
                                      kind_name(peek_kind()));
}

// ---- primitives --------------------------------------------------------------

std::uint8_t reader::peek_tag() const {
  if (at_end()) fail_end();
  return static_cast<std::uint8_t>(*pos_);
}

template <class T>
T reader::take(int line_number) {
  if (remaining() < sizeof(T)) fail(line_number);
  T v;
  std::memcpy(&v, pos_, sizeof v);
  pos_ += sizeof v;
  return v;
}

inline std::int64_t reader::integer_body(std::uint8_t cookie) {
  switch (cookie) {
    case format::number_zero:
      return 0;
    case format::number_byte:
      return take<std::uint8_t>(line::byte_body);
    case format::number_word:
      return take<std::uint16_t>(line::word_body);
    case format::number_dword:
      return take<std::int32_t>(line::dword_body);  // signed
    case format::number_qword:
      return take<std::int64_t>(line::qword_body);
    default:
      fail(line::bad_integer_cookie);
  }
}

double reader::real_body() {
  return take<double>(line::real_body);
}

std::string_view reader::string_body(std::uint8_t type, std::uint8_t cookie) {
  std::size_t length = cookie;
  if (type == format::type_long_string) {
    if (cookie == 2) {
      length = take<std::uint16_t>(line::word_length);
    } else if (cookie == 4) {
      length = take<std::uint32_t>(line::dword_length);
    } else {
      fail(line::bad_long_string_cookie);
    }
  }
  if (remaining() < length) fail(line::string_body);
  std::string_view s(reinterpret_cast<const char*>(pos_), length);
  pos_ += length;
  return s;
}

// Decodes a non-table value and hands it to `make` with its C++ type, so that callers can
// construct it in place (an array slot) instead of moving a temporary value.
template <class Make>
auto reader::scalar(std::uint8_t tag, Make&& make) {
  const std::uint8_t cookie = tag >> 3;
  switch (tag & 7) {
    case format::type_nil:
      return make(std::monostate{});
    case format::type_boolean:
      return make(cookie != 0);
    case format::type_number:
      if (cookie == format::number_real) return make(real_body());
      return make(integer_body(cookie));
    case format::type_userdata:
      return make(light_userdata{take<std::uint64_t>(line::userdata_body)});
    case format::type_short_string:
    case format::type_long_string:
      return make(string_body(tag & 7, cookie));
    default:
      fail(line::bad_type);
  }
}

value reader::scalar(std::uint8_t tag) {
  return scalar(tag, [](auto contents) { return value(contents); });
}

std::uint32_t reader::table_count(std::uint8_t cookie) {
  if (cookie != format::table_count_follows) return cookie;
  if (at_end()) fail(line::count_tag_missing);
  const auto tag = static_cast<std::uint8_t>(*pos_++);
  if ((tag & 7) != format::type_number || (tag >> 3) == format::number_real) {
    fail(line::count_tag_not_integer);
  }
  // skynet cuts the count to a C int; a negative count means no array items.
  const auto count = static_cast<std::int32_t>(integer_body(tag >> 3));
  return count < 0 ? 0 : static_cast<std::uint32_t>(count);
}

// ---- whole values ------------------------------------------------------------

value::kind reader::peek_kind() const {
  const std::uint8_t tag = peek_tag();
  switch (tag & 7) {
    case format::type_nil:
      return value::kind::nil;
    case format::type_boolean:
      return value::kind::boolean;
    case format::type_number:
      return (tag >> 3) == format::number_real ? value::kind::real : value::kind::integer;
    case format::type_userdata:
      return value::kind::light_userdata;
    case format::type_short_string:
    case format::type_long_string:
      return value::kind::string;
    case format::type_table:
      return value::kind::table;
    default:
      throw_at_line(remaining() - 1, line::bad_type);
  }
}

value reader::read() {
  if (at_end()) fail_end();
  const auto tag = static_cast<std::uint8_t>(*pos_++);
  if ((tag & 7) != format::type_table) return scalar(tag);
  return read_table(tag);
}

value_list reader::read_all() {
  value_list values;
  values.reserve(std::min<std::size_t>(remaining(), 8));  // each value takes a byte or more
  while (!at_end()) {
    values.push_back(read());
  }
  return values;
}

void reader::open_table(value& slot, std::uint8_t tag) {
  if (depth_ >= max_depth) fail_depth();
  const std::uint32_t count = table_count(tag >> 3);
  slot = value(table{});
  table* t = &slot.as_table();
  // Each item takes at least one byte, so the input bounds what a count can honestly ask
  // for; the budget keeps nested lying counts from reserving more than that in total.
  const std::size_t reserved = std::min<std::size_t>(count, reserve_budget_);
  reserve_budget_ -= reserved;
  t->array.reserve(reserved);
  if (depth_ > frames_.size()) frames_.emplace_back();  // may move frames: `slot` may dangle
  frame& f = frame_at(depth_++);
  f.t = t;
  f.array_left = count;
  f.at = frame::stage::array;
  f.key = value();
  f.val = value();
  f.index.clear();
}

bool reader::read_element(value& slot) {
  if (at_end()) fail(line::table_truncated);
  const auto tag = static_cast<std::uint8_t>(*pos_++);
  if ((tag & 7) != format::type_table) {
    slot = scalar(tag);
    return false;
  }
  open_table(slot, tag);
  return true;
}

value reader::read_table(std::uint8_t tag) {
  // An explicit stack rather than recursion: nesting depth is up to the sender.
  // The outermost table's frame lives here, so that a message without nested tables does
  // not allocate for frames at all.
  frame outermost;
  outermost_ = &outermost;
  depth_ = 0;
  reserve_budget_ = remaining();
  value root;
  open_table(root, tag);
  while (depth_ != 0) {
    frame& f = frame_at(depth_ - 1);
    switch (f.at) {
      case frame::stage::array: {
        table& t = *f.t;
        for (;;) {
          if (f.array_left == 0) {
            f.at = frame::stage::key;
            break;
          }
          --f.array_left;
          if (at_end()) fail(line::table_truncated);
          const auto item_tag = static_cast<std::uint8_t>(*pos_++);
          if ((item_tag & 7) != format::type_table) {
            // Built in place in the slot: no temporary value to move.
            scalar(item_tag, [&t](auto contents) { t.array.emplace_back(contents); });
            continue;
          }
          t.array.emplace_back();
          open_table(t.array.back(), item_tag);  // `f` may be stale from here on
          break;
        }
        break;
      }
      case frame::stage::key:
        if (at_end()) fail(line::table_truncated);
        if ((static_cast<std::uint8_t>(*pos_) & 7) == format::type_nil) {
          ++pos_;
          finish_table(f);
          --depth_;
          break;
        }
        f.at = frame::stage::value;
        read_element(f.key);
        break;
      case frame::stage::value:
        f.at = frame::stage::assign;
        read_element(f.val);
        break;
      case frame::stage::assign:
        assign(f);
        f.at = frame::stage::key;
        break;
    }
  }
  return root;
}

// t[key] = val, as lua_rawset does it.
void reader::assign(frame& f) {
  value& key = f.key;
  if (key.is_real()) {
    const double d = key.as_real();
    if (std::isnan(d)) throw error("table index is NaN");
    // Lua stores integral float keys as integers (2.0 and 2 are the same key).
    if (d >= -0x1p63 && d < 0x1p63) {
      const auto i = static_cast<std::int64_t>(d);
      if (static_cast<double>(i) == d) key = value(i);
    }
  }
  table& t = *f.t;
  if (key.is_integer()) {
    const std::int64_t i = key.as_integer();
    if (i >= 1 && static_cast<std::uint64_t>(i) <= t.array.size()) {
      t.array[static_cast<std::size_t>(i - 1)] = std::move(f.val);  // nil makes a hole
      key = value();
      return;
    }
  }
  const std::size_t at = f.index.find(t.hash, key);
  if (at != npos) {
    t.hash[at].second = std::move(f.val);  // nil marks the pair dead; dropped at the end
    key = value();
  } else if (!f.val.is_nil()) {
    t.hash.emplace_back(std::move(key), std::move(f.val));
    f.index.added(t.hash);
  } else {
    key = value();
  }
}

// Brings the table to canonical form: array part = keys 1..n for the largest n with all of
// them present, hash part = every other present key.
void reader::finish_table(frame& f) {
  std::vector<value>& array = f.t->array;
  hash_part& hash = f.t->hash;
  std::size_t present = 0;
  while (present < array.size() && !array[present].is_nil())
    ++present;
  if (present < array.size()) {
    // A hole: items after it are ordinary integer keys. (No hash key can be in 1..n.)
    for (std::size_t i = present + 1; i < array.size(); ++i) {
      if (!array[i].is_nil()) {
        // Built in place: going through a temporary value trips a GCC 12 false positive.
        hash.emplace_back(std::piecewise_construct,
                          std::forward_as_tuple(static_cast<std::int64_t>(i + 1)),
                          std::forward_as_tuple(std::move(array[i])));
      }
    }
    array.resize(present);
  } else if (!hash.empty()) {
    // Keys n+1, n+2, ... sent as pairs continue the array part.
    for (;;) {
      const std::size_t at = f.index.find(hash, value(static_cast<std::int64_t>(array.size() + 1)));
      if (at == npos || hash[at].second.is_nil()) break;
      array.push_back(std::move(hash[at].second));
    }
  }
  std::erase_if(hash, [](const auto& pair) { return pair.second.is_nil(); });
}

// ---- typed reads -------------------------------------------------------------

void reader::read_nil() {
  if ((peek_tag() & 7) != format::type_nil) fail_kind(value::kind::nil);
  ++pos_;
}

bool reader::read_bool() {
  const std::uint8_t tag = peek_tag();
  if ((tag & 7) != format::type_boolean) fail_kind(value::kind::boolean);
  ++pos_;
  return (tag >> 3) != 0;
}

std::int64_t reader::read_integer() {
  const std::uint8_t tag = peek_tag();
  if ((tag & 7) != format::type_number || (tag >> 3) == format::number_real) {
    fail_kind(value::kind::integer);
  }
  ++pos_;
  return integer_body(tag >> 3);
}

double reader::read_real() {
  const std::uint8_t tag = peek_tag();
  if (tag != format::tag(format::type_number, format::number_real)) fail_kind(value::kind::real);
  ++pos_;
  return real_body();
}

std::string_view reader::read_string() {
  const std::uint8_t tag = peek_tag();
  const std::uint8_t type = tag & 7;
  if (type != format::type_short_string && type != format::type_long_string) {
    fail_kind(value::kind::string);
  }
  ++pos_;
  return string_body(type, tag >> 3);
}

std::uint64_t reader::read_light_userdata() {
  if ((peek_tag() & 7) != format::type_userdata) fail_kind(value::kind::light_userdata);
  ++pos_;
  return take<std::uint64_t>(line::userdata_body);
}

value_list unpack(std::span<const std::byte> bytes) {
  reader r(bytes);
  return r.read_all();
}

}  // namespace starling::seri
