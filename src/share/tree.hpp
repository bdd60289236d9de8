#pragma once
// starling::share::tree: an immutable tree of Lua-like values, built once and then read by many
// Lua states at the same time (sharedata and sharetable, docs/LIBRARIES.md). Nothing in a
// finished tree changes except its reference count and dirty flag, both atomic, so readers on
// any worker need no lock.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace starling::share {

class tree;

/// One value. Strings and function bytecode live in the tree's string store; tables are node
/// indexes; `pointer` is a light userdata or a C function carried as an address.
struct value {
  enum class kind : std::uint8_t {
    nil,
    boolean,
    integer,
    real,
    string,
    table,
    function,
    pointer,
    cfunction
  };
  kind type = kind::nil;
  union {
    bool boolean;
    std::int64_t integer;
    double real;
    std::uint32_t index;  // string, function (bytecode in the string store), table
    void* pointer;
  } as{.integer = 0};

  static value make_boolean(bool b) noexcept {
    value v;
    v.type = kind::boolean;
    v.as.boolean = b;
    return v;
  }
  static value make_integer(std::int64_t i) noexcept {
    value v;
    v.type = kind::integer;
    v.as.integer = i;
    return v;
  }
  static value make_real(double d) noexcept {
    value v;
    v.type = kind::real;
    v.as.real = d;
    return v;
  }
  static value make_index(kind k, std::uint32_t i) noexcept {
    value v;
    v.type = k;
    v.as.index = i;
    return v;
  }
  static value make_pointer(kind k, void* p) noexcept {
    value v;
    v.type = k;
    v.as.pointer = p;
    return v;
  }
};

/// A table: the array part (keys 1..n, holes are nil) and the hash part sorted by key.
struct node {
  tree* owner = nullptr;
  std::vector<value> array;
  std::vector<std::pair<value, value>> hash;
};

class tree {
 public:
  tree() = default;
  tree(const tree&) = delete;
  tree& operator=(const tree&) = delete;

  [[nodiscard]] const node& root() const noexcept { return nodes_.front(); }
  [[nodiscard]] const node& at(std::uint32_t index) const noexcept { return nodes_[index]; }
  [[nodiscard]] std::string_view text(std::uint32_t index) const noexcept {
    return strings_[index];
  }
  [[nodiscard]] std::size_t node_count() const noexcept { return nodes_.size(); }

  /// The value of `key` in `n` (a node of this tree): nil when absent.
  [[nodiscard]] value get(const node& n, std::int64_t key) const noexcept;
  [[nodiscard]] value get(const node& n, std::string_view key) const noexcept;
  [[nodiscard]] value get(const node& n, const value& key) const noexcept;
  /// The entry after position `pos` of the iteration order (array part, skipping nils, then
  /// hash): its position, or -1 at the end. Position -1 starts.
  [[nodiscard]] std::int64_t next(const node& n, std::int64_t pos) const noexcept;
  /// The key and value at an iteration position next() returned.
  [[nodiscard]] std::pair<value, value> entry(const node& n, std::int64_t pos) const noexcept;
  /// The position of `key` in the iteration order, or -1 when absent.
  [[nodiscard]] std::int64_t position(const node& n, const value& key) const noexcept;
  [[nodiscard]] std::int64_t position(const node& n, std::string_view key) const noexcept;

  /// Bytes held by the tree (for sharetable's INFO and the memory figures).
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

  /// Reference count and dirty flag, shared by every service of the process.
  std::atomic<int> refs{0};
  std::atomic<bool> dirty{false};

 private:
  friend class tree_builder;
  [[nodiscard]] int compare(const value& a, const value& b) const noexcept;

  std::vector<node> nodes_;
  std::vector<std::string> strings_;
  std::size_t bytes_ = 0;
};

/// Builds a tree table by table. Tables are added by node index; the caller maps its source
/// tables to indexes (so shared sub-tables and cycles keep one node).
class tree_builder {
 public:
  tree_builder();
  /// A new empty node; its index. The first one is the root.
  std::uint32_t add_node();
  /// The index of `s` in the string store (each distinct string stored once).
  std::uint32_t intern(std::string_view s);
  void set_array_size(std::uint32_t node, std::size_t size);
  void set_array(std::uint32_t node, std::size_t index0, value v);
  void add_hash(std::uint32_t node, value key, value v);
  /// Sorts the hash parts and hands the tree over; the builder is empty afterwards.
  std::unique_ptr<tree> finish();

 private:
  std::unique_ptr<tree> tree_;
  std::unordered_map<std::string, std::uint32_t> interned_;
};

}  // namespace starling::share
