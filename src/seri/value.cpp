#include "seri/value.hpp"

#include <bit>
#include <cmath>
#include <cstdio>
#include <ostream>

namespace starling::seri {

// Reaches into values and boxes for the non-recursive copy and destruction below.
struct table_access {
  static table_box* box_of(value& v) noexcept { return std::get_if<table_box>(&v.v_); }
  static std::unique_ptr<table>& ptr_of(table_box& b) noexcept { return b.ptr_; }
};

namespace {

// Destroying a table recurses once per nesting level. Up to this depth that is harmless;
// deeper trees (the decoder accepts thousands of levels) are taken apart with a heap
// worklist so that a worker thread's stack never overflows.
constexpr int recursive_destroy_limit = 64;
thread_local int destroy_depth = 0;

void detach_child(value& v, std::vector<std::unique_ptr<table>>& pending) {
  if (table_box* box = table_access::box_of(v)) {
    if (auto& child = table_access::ptr_of(*box)) pending.push_back(std::move(child));
  }
}

void destroy_iteratively(std::unique_ptr<table> root) noexcept {
  std::vector<std::unique_ptr<table>> pending;
  pending.push_back(std::move(root));
  while (!pending.empty()) {
    std::unique_ptr<table> t = std::move(pending.back());
    pending.pop_back();
    for (value& v : t->array)
      detach_child(v, pending);
    for (auto& [k, v] : t->hash) {
      detach_child(k, pending);
      detach_child(v, pending);
    }
    // `t` now holds no subtables, so freeing it recurses no further.
  }
}

void dispose(std::unique_ptr<table> t) noexcept {
  if (!t) return;
  if (destroy_depth < recursive_destroy_limit) {
    ++destroy_depth;
    t.reset();
    --destroy_depth;
  } else {
    destroy_iteratively(std::move(t));
  }
}

// Copies `v`, except that a table becomes an empty table queued on `pending` for filling;
// this keeps deep copies off the call stack.
value shallow_copy(const value& v, std::vector<std::pair<const table*, table*>>& pending) {
  if (!v.is_table()) return v;
  value copy{table{}};
  pending.emplace_back(&v.as_table(), &copy.as_table());
  return copy;
}

std::unique_ptr<table> deep_copy(const table& source) {
  auto root = std::make_unique<table>();
  std::vector<std::pair<const table*, table*>> pending{{&source, root.get()}};
  while (!pending.empty()) {
    auto [from, to] = pending.back();
    pending.pop_back();
    to->array.reserve(from->array.size());
    for (const value& v : from->array)
      to->array.push_back(shallow_copy(v, pending));
    to->hash.reserve(from->hash.size());
    for (const auto& [k, v] : from->hash) {
      value key = shallow_copy(k, pending);
      to->hash.emplace_back(std::move(key), shallow_copy(v, pending));
    }
  }
  return root;
}

bool same_bits(double a, double b) noexcept {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

// Lua's raw key identity: tables only match themselves.
bool same_key(const value& a, const value& b) {
  if (a.type() != b.type()) return false;
  if (a.is_table()) return &a.as_table() == &b.as_table();
  return a == b;
}

}  // namespace

// ---- table_box ---------------------------------------------------------------

table_box::table_box() : ptr_(std::make_unique<table>()) {}

table_box::table_box(table&& contents) : ptr_(std::make_unique<table>(std::move(contents))) {}

table_box::table_box(const table_box& other)
    : ptr_(other.ptr_ ? deep_copy(*other.ptr_) : nullptr) {}

table_box& table_box::operator=(const table_box& other) {
  if (this != &other) {
    table_box copy(other);
    std::swap(ptr_, copy.ptr_);
  }
  return *this;
}

table_box& table_box::operator=(table_box&& other) noexcept {
  if (this != &other) dispose(std::exchange(ptr_, std::move(other.ptr_)));
  return *this;
}

table_box::~table_box() {
  dispose(std::move(ptr_));
}

// ---- equality ----------------------------------------------------------------

bool operator==(const value& a, const value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case value::kind::nil:
      return true;
    case value::kind::boolean:
      return a.as_boolean() == b.as_boolean();
    case value::kind::integer:
      return a.as_integer() == b.as_integer();
    case value::kind::real:
      return same_bits(a.as_real(), b.as_real());
    case value::kind::string:
      return a.as_string() == b.as_string();
    case value::kind::light_userdata:
      return a.as_light_userdata() == b.as_light_userdata();
    case value::kind::table:
      return a.as_table() == b.as_table();
  }
  return false;
}

bool operator==(const table& a, const table& b) {
  if (&a == &b) return true;
  if (a.array.size() != b.array.size() || a.hash.size() != b.hash.size()) return false;
  for (std::size_t i = 0; i < a.array.size(); ++i) {
    if (!(a.array[i] == b.array[i])) return false;
  }
  // Usually both hash parts come in the same order; compare positionally first.
  std::size_t first_difference = 0;
  const std::size_t n = a.hash.size();
  while (first_difference < n && a.hash[first_difference] == b.hash[first_difference]) {
    ++first_difference;
  }
  if (first_difference == n) return true;
  // Then match the rest as a multiset of pairs; equality is an equivalence, so greedy
  // matching is exact.
  std::vector<bool> used(n - first_difference, false);
  for (std::size_t i = first_difference; i < n; ++i) {
    bool matched = false;
    for (std::size_t j = first_difference; j < n; ++j) {
      if (!used[j - first_difference] && a.hash[i] == b.hash[j]) {
        used[j - first_difference] = true;
        matched = true;
        break;
      }
    }
    if (!matched) return false;
  }
  return true;
}

// ---- lookup ------------------------------------------------------------------

const value* table::find(const value& key) const {
  const value* probe = &key;
  value normalised;
  if (key.is_real()) {
    // Lua stores integral float keys as integers.
    double d = key.as_real();
    if (d >= -0x1p63 && d < 0x1p63 && std::trunc(d) == d) {
      normalised = static_cast<std::int64_t>(d);
      probe = &normalised;
    }
  }
  if (probe->is_integer()) {
    std::int64_t i = probe->as_integer();
    if (i >= 1 && static_cast<std::uint64_t>(i) <= array.size()) {
      const value& slot = array[static_cast<std::size_t>(i - 1)];
      return slot.is_nil() ? nullptr : &slot;
    }
  }
  for (const auto& [k, v] : hash) {
    if (same_key(k, *probe)) return v.is_nil() ? nullptr : &v;
  }
  return nullptr;
}

// ---- printing ----------------------------------------------------------------

namespace {

constexpr int print_depth_limit = 16;

void print(std::ostream& out, const value& v, int depth);

void print_table(std::ostream& out, const table& t, int depth) {
  if (depth >= print_depth_limit) {
    out << "{...}";
    return;
  }
  out << '{';
  bool first = true;
  for (const value& item : t.array) {
    if (!first) out << ", ";
    first = false;
    print(out, item, depth + 1);
  }
  for (const auto& [k, item] : t.hash) {
    if (!first) out << ", ";
    first = false;
    out << '[';
    print(out, k, depth + 1);
    out << "]=";
    print(out, item, depth + 1);
  }
  out << '}';
}

void print_string(std::ostream& out, const std::string& s) {
  constexpr std::size_t shown = 80;
  out << '"';
  for (std::size_t i = 0; i < s.size() && i < shown; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out << '\\' << static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out << static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out << buf;
    }
  }
  if (s.size() > shown) out << "...(" << s.size() << " bytes)";
  out << '"';
}

void print(std::ostream& out, const value& v, int depth) {
  switch (v.type()) {
    case value::kind::nil:
      out << "nil";
      break;
    case value::kind::boolean:
      out << (v.as_boolean() ? "true" : "false");
      break;
    case value::kind::integer:
      out << v.as_integer();
      break;
    case value::kind::real: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v.as_real());
      out << buf << "(0x" << std::hex << std::bit_cast<std::uint64_t>(v.as_real()) << std::dec
          << ')';
      break;
    }
    case value::kind::string:
      print_string(out, v.as_string());
      break;
    case value::kind::light_userdata:
      out << "lightuserdata(0x" << std::hex << v.as_light_userdata().address << std::dec << ')';
      break;
    case value::kind::table:
      print_table(out, v.as_table(), depth);
      break;
  }
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const value& v) {
  print(out, v, 0);
  return out;
}

std::ostream& operator<<(std::ostream& out, const table& t) {
  print_table(out, t, 0);
  return out;
}

}  // namespace starling::seri
