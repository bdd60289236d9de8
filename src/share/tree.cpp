#include "share/tree.hpp"

#include <algorithm>
#include <cstring>

namespace starling::share {

namespace {

int three_way(auto a, auto b) noexcept {
  return a < b ? -1 : (b < a ? 1 : 0);
}

}  // namespace

// Keys order by kind first, then by content: strings by bytes, the rest by their bits.
int tree::compare(const value& a, const value& b) const noexcept {
  if (a.type != b.type) return three_way(a.type, b.type);
  switch (a.type) {
    case value::kind::nil:
      return 0;
    case value::kind::boolean:
      return three_way(a.as.boolean, b.as.boolean);
    case value::kind::integer:
      return three_way(a.as.integer, b.as.integer);
    case value::kind::real:
      return three_way(a.as.real, b.as.real);
    case value::kind::string:
    case value::kind::function:
      return text(a.as.index).compare(text(b.as.index));
    case value::kind::table:
      return three_way(a.as.index, b.as.index);
    case value::kind::pointer:
    case value::kind::cfunction:
      return three_way(a.as.pointer, b.as.pointer);
  }
  return 0;
}

value tree::get(const node& n, std::int64_t key) const noexcept {
  if (key >= 1 && static_cast<std::uint64_t>(key) <= n.array.size()) {
    return n.array[static_cast<std::size_t>(key - 1)];
  }
  return get(n, value::make_integer(key));
}

value tree::get(const node& n, std::string_view key) const noexcept {
  const std::int64_t pos = position(n, key);
  return pos < 0 ? value{} : entry(n, pos).second;
}

std::int64_t tree::position(const node& n, std::string_view key) const noexcept {
  auto it =
      std::lower_bound(n.hash.begin(), n.hash.end(), key, [&](const auto& e, std::string_view k) {
        if (e.first.type != value::kind::string) return e.first.type < value::kind::string;
        return text(e.first.as.index) < k;
      });
  if (it == n.hash.end() || it->first.type != value::kind::string ||
      text(it->first.as.index) != key) {
    return -1;
  }
  return static_cast<std::int64_t>(n.array.size()) + (it - n.hash.begin());
}

value tree::get(const node& n, const value& key) const noexcept {
  const std::int64_t pos = position(n, key);
  return pos < 0 ? value{} : entry(n, pos).second;
}

std::int64_t tree::position(const node& n, const value& key) const noexcept {
  const auto array_size = static_cast<std::int64_t>(n.array.size());
  if (key.type == value::kind::integer && key.as.integer >= 1 && key.as.integer <= array_size) {
    return n.array[static_cast<std::size_t>(key.as.integer - 1)].type == value::kind::nil
               ? -1
               : key.as.integer - 1;
  }
  auto it = std::lower_bound(n.hash.begin(), n.hash.end(), key, [&](const auto& e, const value& k) {
    return compare(e.first, k) < 0;
  });
  if (it == n.hash.end() || compare(it->first, key) != 0) return -1;
  return array_size + (it - n.hash.begin());
}

std::int64_t tree::next(const node& n, std::int64_t pos) const noexcept {
  const auto array_size = static_cast<std::int64_t>(n.array.size());
  for (++pos; pos < array_size; ++pos) {
    if (n.array[static_cast<std::size_t>(pos)].type != value::kind::nil) return pos;
  }
  return pos < array_size + static_cast<std::int64_t>(n.hash.size()) ? pos : -1;
}

std::pair<value, value> tree::entry(const node& n, std::int64_t pos) const noexcept {
  const auto array_size = static_cast<std::int64_t>(n.array.size());
  if (pos < array_size)
    return {value::make_integer(pos + 1), n.array[static_cast<std::size_t>(pos)]};
  return n.hash[static_cast<std::size_t>(pos - array_size)];
}

tree_builder::tree_builder() : tree_(std::make_unique<tree>()) {}

std::uint32_t tree_builder::add_node() {
  tree_->nodes_.emplace_back().owner = tree_.get();
  tree_->bytes_ += sizeof(node);
  return static_cast<std::uint32_t>(tree_->nodes_.size() - 1);
}

std::uint32_t tree_builder::intern(std::string_view s) {
  auto [it, added] = interned_.try_emplace(std::string(s), 0);
  if (added) {
    it->second = static_cast<std::uint32_t>(tree_->strings_.size());
    tree_->strings_.emplace_back(s);
    tree_->bytes_ += sizeof(std::string) + (s.size() > 15 ? s.size() + 1 : 0);
  }
  return it->second;
}

void tree_builder::set_array_size(std::uint32_t node, std::size_t size) {
  tree_->nodes_[node].array.resize(size);
  tree_->bytes_ += size * sizeof(value);
}

void tree_builder::set_array(std::uint32_t node, std::size_t index0, value v) {
  tree_->nodes_[node].array[index0] = v;
}

void tree_builder::add_hash(std::uint32_t node, value key, value v) {
  tree_->nodes_[node].hash.emplace_back(key, v);
  tree_->bytes_ += sizeof(std::pair<value, value>);
}

std::unique_ptr<tree> tree_builder::finish() {
  if (tree_->nodes_.empty()) add_node();
  tree& t = *tree_;
  for (node& n : t.nodes_) {
    std::sort(n.hash.begin(), n.hash.end(),
              [&](const auto& a, const auto& b) { return t.compare(a.first, b.first) < 0; });
    n.hash.shrink_to_fit();
  }
  interned_.clear();
  auto done = std::move(tree_);
  tree_ = std::make_unique<tree>();
  return done;
}

}  // namespace starling::share
