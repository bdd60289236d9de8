#pragma once
// A Lua table turned into a share::tree (lua/sharedata_core.cpp, lua/sharetable_core.cpp).

#include <cstdint>
#include <lua.hpp>
#include <memory>
#include <string>
#include <unordered_map>

#include "share/tree.hpp"

namespace starling::lua {

enum class share_rules {
  sharedata,   // integer and string keys; numbers, strings, booleans and tables as values
  sharetable,  // any key; also light userdata and functions without upvalues; no metatables
};

/// Converts a table. The converter belongs to the binding's caller side of lua::protect: run()
/// goes under protect (it raises the rule violations with their skynet texts, and walks
/// tables with Lua calls that may raise) and keeps nothing with a destructor in its frames.
class share_converter {
 public:
  explicit share_converter(share_rules rules) : rules_(rules) {}
  /// Converts the table at `index` of L; the tree is then ready for take().
  void run(lua_State* L, int index);
  std::unique_ptr<share::tree> take() { return std::move(done_); }

 private:
  share::value key(int index);
  share::value element(int index, int depth);
  std::uint32_t table(int index, int depth);

  lua_State* L_ = nullptr;
  share_rules rules_;
  share::tree_builder builder_;
  std::unordered_map<const void*, std::uint32_t> seen_;  // source table -> node
  std::string dumped_;                                   // lua_dump's output, reused
  std::unique_ptr<share::tree> done_;
};

/// Pushes a scalar `v` of `t` (nil, boolean, number, string, light userdata, C function);
/// false for tables and Lua functions, which the caller pushes its own way.
bool push_share_scalar(lua_State* L, const share::tree& t, const share::value& v);

/// The key at `index` as a share::value for a lookup; false when no key of that kind can be
/// in a tree (a table, a userdata, a NaN). Strings are looked up by text: use share::tree::get
/// with a string_view for them instead.
bool share_key(lua_State* L, int index, share::value& key);

}  // namespace starling::lua
