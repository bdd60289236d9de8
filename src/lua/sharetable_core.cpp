// require "skynet.sharetable.core": sharetable on stock Lua (docs/LIBRARIES.md "sharetable").
//
// skynet's patched VM lets every service read one Lua table. Stock Lua cannot, so a version is
// an immutable share::tree built once in the sharetable service, and each service reads it
// through proxies: empty tables whose metatable answers reads from the tree. A service gets
// one proxy per table it reached (cached, so identity holds). A proxy is a bare table: the
// service holds one count per version it reached until it exits, as the sharetable service
// counts it a holder of the version until then. The data itself is never copied into a reader.
//
// Per Lua state, in the registry table `state_key`:
//   proxies   light userdata (tree node) -> proxy                       (weak values)
//   nodes     proxy -> light userdata (its node), false once vanished   (weak keys)
//   funcs     proxy -> { slot -> loaded Lua function }                  (weak keys)
//   holders   light userdata (tree) -> userdata with the count on it
//   meta      the proxies' metatable
//   pace      the counts below (a userdata)
//
// Walking a big table makes a proxy per table reached, and most are garbage at once. The GC
// paces itself on bytes, and a proxy is small, so hundreds pile up between two cycles: their
// objects stay in the service's small-object pages, which are never given back, and the weak
// caches grow to hold them, and Lua never shrinks a table that is not inserted into. So the
// proxies pace the GC too: once as many were made since the last time as there were live
// ones then (at least `step_every`), a GC step runs (a minor collection) and, when most of
// what was made is gone, the caches are rebuilt at the size of what lives in them. A pairs
// walk that made that many proxies does the same when it ends, so what it dropped does not
// wait for a proxy made later, if ever.

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lua/protected.hpp"
#include "lua/share_convert.hpp"
#include "lua/share_modules.hpp"
#include "share/tree.hpp"

namespace starling::lua {

namespace {

constexpr const char* state_key = "skynet.sharetable.state";
constexpr const char* holder_metatable = "skynet.sharetable.holder";
constexpr const char* matrix_metatable = "skynet.sharetable.matrix";

// The upvalue every proxy metamethod gets: the state table above.
constexpr int up_state = 1;

// The fewest proxies made between two GC steps.
constexpr std::size_t step_every = 64;

struct pace {
  std::size_t since_step;  // proxies made since the last step
  std::size_t made;        // proxies made in all
  std::size_t kept;        // the live proxies after the last step
};

// A count on a tree, let go when the last one goes (the matrix box holds one too).
void retain(share::tree& t) {
  t.refs.fetch_add(1);
}
void release(share::tree& t) {
  if (t.refs.fetch_sub(1) == 1) std::unique_ptr<share::tree> last(&t);
}

// This service's count on a version, kept in `holders` until the state closes.
struct holder {
  share::tree* tree;  // null until anchored
};

int holder_gc(lua_State* L) {
  auto* h = static_cast<holder*>(luaL_checkudata(L, 1, holder_metatable));
  if (h->tree != nullptr) release(*h->tree);
  h->tree = nullptr;
  return 0;
}

void* address(const void* p) {
  return const_cast<void*>(p);
}

// Pushes field `name` of the state table (at the upvalue).
void state_field(lua_State* L, const char* name) {
  lua_getfield(L, lua_upvalueindex(up_state), name);
}

// The node behind proxy `index`: raises for a vanished one, null for a non-proxy.
const share::node* proxy_node(lua_State* L, int index, bool must) {
  index = lua_absindex(L, index);
  state_field(L, "nodes");
  lua_pushvalue(L, index);
  const int type = lua_rawget(L, -2);
  const auto* n = static_cast<const share::node*>(lua_touserdata(L, -1));
  lua_pop(L, 2);
  if (type == LUA_TNIL) {
    if (must) luaL_error(L, "Not a shared table");
    return nullptr;
  }
  if (n == nullptr) luaL_error(L, "The shared table vanished in an update");
  return n;
}

// Takes this service's count on version `t` (state table at `state`) unless it has it.
void hold_version(lua_State* L, int state, share::tree& t) {
  state = lua_absindex(L, state);
  luaL_checkstack(L, 3, nullptr);
  lua_getfield(L, state, "holders");
  if (lua_rawgetp(L, -1, &t) != LUA_TNIL) {
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  auto* h = static_cast<holder*>(lua_newuserdatauv(L, sizeof(holder), 0));
  h->tree = nullptr;
  luaL_setmetatable(L, holder_metatable);
  lua_rawsetp(L, -2, &t);  // holders[tree] = holder
  lua_pop(L, 1);
  // Everything that can raise is done, the holder anchored: take the count.
  retain(t);
  h->tree = &t;
}

// The entries of weak cache `name` of the state table (upvalue).
int cache_entries(lua_State* L, const char* name) {
  state_field(L, name);
  int live = 0;
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    ++live;
  }
  lua_pop(L, 1);
  return live;
}

// Replaces weak cache `name` of the state table (upvalue) by a copy of what lives in it: a
// table keeps the room it once needed.
void rebuild_cache(lua_State* L, const char* name) {
  const int live = cache_entries(L, name);
  state_field(L, name);
  const int old = lua_gettop(L);
  lua_createtable(L, 0, live);
  if (lua_getmetatable(L, old) != 0) lua_setmetatable(L, -2);  // its weak mode
  lua_pushnil(L);
  while (lua_next(L, old) != 0) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, old + 1);
  }
  lua_setfield(L, lua_upvalueindex(up_state), name);
  lua_pop(L, 1);
}

pace& pace_of(lua_State* L) {
  state_field(L, "pace");
  auto* p = static_cast<pace*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return *p;
}

// A minor collection, then the caches rebuilt unless most of the proxies made since the last
// step still live (a walk that keeps what it reaches): then they have no room to give back.
void step(lua_State* L, pace& p) {
  if (lua_gc(L, LUA_GCISRUNNING) != 0) lua_gc(L, LUA_GCSTEP, 0);
  const auto live = static_cast<std::size_t>(cache_entries(L, "nodes"));
  if (live * 2 < p.kept + p.since_step) {
    rebuild_cache(L, "nodes");
    rebuild_cache(L, "proxies");
    rebuild_cache(L, "funcs");
  }
  p.kept = live;
  p.since_step = 0;
}

// Before a proxy is made: the step the header describes. Runs before any cache is on the
// stack, since a rebuild replaces them.
void pace_proxies(lua_State* L) {
  pace& p = pace_of(L);
  if (p.since_step >= std::max(step_every, p.kept)) step(L, p);
  ++p.since_step;
  ++p.made;
}

// The count of proxies made, as a walk's start mark.
lua_Integer made_mark(lua_State* L) {
  return static_cast<lua_Integer>(pace_of(L).made);
}

// A walk that began at `mark` ended (pairs found no further entry). When it made many
// proxies, what it dropped goes now and the caches shrink to what lives, rather than at some
// later proxy that may never be made: a step and a rebuild per `step_every` proxies at most.
void settle_walk(lua_State* L, lua_Integer mark) {
  pace& p = pace_of(L);
  if (p.made - static_cast<std::size_t>(mark) < std::max(step_every, p.kept)) return;
  if (p.since_step > 0) step(L, p);
}

// Pushes the proxy of node `n`, made on first use.
void push_proxy(lua_State* L, const share::node& n) {
  luaL_checkstack(L, 6, nullptr);
  state_field(L, "proxies");
  lua_rawgetp(L, -1, &n);
  if (!lua_isnil(L, -1)) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 2);
  pace_proxies(L);
  state_field(L, "proxies");
  lua_createtable(L, 0, 0);
  state_field(L, "meta");
  lua_setmetatable(L, -2);
  state_field(L, "nodes");
  lua_pushvalue(L, -2);
  lua_pushlightuserdata(L, address(&n));
  lua_rawset(L, -3);  // nodes[proxy] = node
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, -3, &n);  // proxies[node] = proxy
  lua_remove(L, -2);
}

// Pushes a Lua function of the tree, loaded once per proxy and slot (the entry's position;
// keys use -1 - position). Cached by proxy, which keeps the slot meaning alive.
void push_function(lua_State* L, const share::tree& t, const share::value& v, int proxy,
                   std::int64_t slot) {
  proxy = lua_absindex(L, proxy);
  luaL_checkstack(L, 4, nullptr);
  state_field(L, "funcs");
  lua_pushvalue(L, proxy);
  if (lua_rawget(L, -2) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, proxy);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);  // funcs[proxy] = {}
  }
  lua_remove(L, -2);
  if (lua_rawgeti(L, -1, slot) != LUA_TNIL) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  const std::string_view code = t.text(v.as.index);
  if (luaL_loadbufferx(L, code.data(), code.size(), "=sharetable", "b") != LUA_OK) {
    lua_error(L);
  }
  lua_pushvalue(L, -1);
  lua_rawseti(L, -3, slot);
  lua_remove(L, -2);
}

// Pushes `v`, an entry of the proxy at `proxy` (the key when slot < 0).
void push_value(lua_State* L, const share::tree& t, const share::value& v, int proxy,
                std::int64_t slot) {
  if (v.type == share::value::kind::table) {
    push_proxy(L, t.at(v.as.index));
  } else if (v.type == share::value::kind::function) {
    push_function(L, t, v, proxy, slot);
  } else {
    push_share_scalar(L, t, v);
  }
}

// A value inside the tree, by address: funcs caches by it, so it must stay put.
const share::value& value_ref(const share::node& n, std::int64_t pos) {
  const auto array_size = static_cast<std::int64_t>(n.array.size());
  if (pos < array_size) return n.array[static_cast<std::size_t>(pos)];
  return n.hash[static_cast<std::size_t>(pos - array_size)].second;
}

std::int64_t lookup(lua_State* L, const share::tree& t, const share::node& n, int key) {
  if (lua_type(L, key) == LUA_TSTRING) {
    std::size_t size = 0;
    const char* s = lua_tolstring(L, key, &size);
    return t.position(n, std::string_view(s, size));
  }
  share::value k;
  return share_key(L, key, k) ? t.position(n, k) : -1;
}

int proxy_index(lua_State* L) {
  const share::node& n = *proxy_node(L, 1, true);
  const share::tree& t = *n.owner;
  const std::int64_t pos = lookup(L, t, n, 2);
  if (pos < 0) return 0;
  push_value(L, t, value_ref(n, pos), 1, pos);
  return 1;
}

int proxy_newindex(lua_State* L) {
  return luaL_error(L, "attempt to write to a shared table");
}

int proxy_len(lua_State* L) {
  const share::node& n = *proxy_node(L, 1, true);
  lua_pushinteger(L, static_cast<lua_Integer>(n.array.size()));
  return 1;
}

// The iterator __pairs returns: next(proxy, key).
int proxy_next(lua_State* L) {
  const share::node& n = *proxy_node(L, 1, true);
  const share::tree& t = *n.owner;
  std::int64_t pos = -1;
  if (!lua_isnoneornil(L, 2)) {
    pos = lookup(L, t, n, 2);
    if (pos < 0) return luaL_error(L, "invalid key to 'next'");
  }
  pos = t.next(n, pos);
  if (pos < 0) {
    // pairs' iterator holds its walk's start mark (not next's: no walk is known there)
    if (lua_isinteger(L, lua_upvalueindex(2)) != 0) {
      settle_walk(L, lua_tointeger(L, lua_upvalueindex(2)));
    }
    return 0;
  }
  push_value(L, t, t.entry(n, pos).first, 1, -1 - pos);
  push_value(L, t, value_ref(n, pos), 1, pos);
  return 2;
}

int proxy_pairs(lua_State* L) {
  proxy_node(L, 1, true);
  lua_pushvalue(L, lua_upvalueindex(up_state));
  lua_pushinteger(L, made_mark(L));
  lua_pushcclosure(L, proxy_next, 2);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

// Pushes this state's table, made on first use.
void push_state(lua_State* L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, state_key) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_createtable(L, 0, 7);
  lua_newtable(L);
  lua_setfield(L, -2, "holders");
  const char* weak[][2] = {{"proxies", "v"}, {"nodes", "k"}, {"funcs", "k"}};
  for (const auto& [name, mode] : weak) {
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushstring(L, mode);
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, -2, name);
  }
  lua_createtable(L, 0, 6);
  const luaL_Reg methods[] = {{"__index", proxy_index},
                              {"__newindex", proxy_newindex},
                              {"__len", proxy_len},
                              {"__pairs", proxy_pairs},
                              {nullptr, nullptr}};
  for (const luaL_Reg* m = methods; m->name != nullptr; ++m) {
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, m->func, 1);
    lua_setfield(L, -2, m->name);
  }
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setfield(L, -2, "meta");
  auto* p = static_cast<pace*>(lua_newuserdatauv(L, sizeof(pace), 0));
  *p = pace{0, 0, 0};
  lua_setfield(L, -2, "pace");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, state_key);
}

// clone(ptr) -> the proxy of a version's root, for this service
int core_clone(lua_State* L) {
  luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
  const auto* root = static_cast<const share::node*>(lua_touserdata(L, 1));
  if (root == nullptr) return luaL_argerror(L, 1, "null version");
  hold_version(L, lua_upvalueindex(up_state), *root->owner);
  push_proxy(L, *root);
  return 1;
}

// next(t, k): Lua's next, which also walks shared tables (sharetable.lua installs it as the
// service's global next, so `next(cfg) == nil` works as on skynet's shared tables).
int core_next(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  if (proxy_node(L, 1, false) != nullptr) return proxy_next(L);
  if (lua_next(L, 1) != 0) return 2;
  lua_pushnil(L);
  return 1;
}

// is_sharedtable(t) -> boolean
int core_is_sharedtable(lua_State* L) {
  if (lua_type(L, 1) != LUA_TTABLE) {
    lua_pushboolean(L, 0);
    return 1;
  }
  state_field(L, "nodes");
  lua_pushvalue(L, 1);
  lua_rawget(L, -2);
  lua_pushboolean(L, lua_isnil(L, -1) ? 0 : 1);
  return 1;
}

// stackvalues(co, t) -> n: the values on another coroutine's stack, into t[1..n]
int core_stackvalues(lua_State* L) {
  lua_State* co = lua_tothread(L, 1);
  luaL_argexpected(L, co != nullptr, 1, "thread");
  luaL_checktype(L, 2, LUA_TTABLE);
  if (co == L) {
    lua_pushinteger(L, 0);
    return 1;
  }
  const int n = lua_gettop(co);
  luaL_checkstack(L, 2, nullptr);
  for (int i = 1; i <= n; ++i) {
    if (lua_checkstack(co, 1) == 0) return luaL_error(L, "coroutine stack overflow");
    lua_pushvalue(co, i);
    lua_xmove(co, L, 1);
    lua_rawseti(L, 2, i);
  }
  lua_pushinteger(L, n);
  return 1;
}

// The walk of update(): every table of the old version paired with the table at the same key
// path in the new one (or null). Pure C++, run before any Lua call; move_proxies applies it.
struct repointer {
  std::unordered_map<const share::node*, const share::node*> moves;

  void walk(const share::node& from, const share::node* to) {
    if (!moves.try_emplace(&from, to).second) return;
    const share::tree& t = *from.owner;
    for (std::int64_t p = t.next(from, -1); p >= 0; p = t.next(from, p)) {
      const auto [k, v] = t.entry(from, p);
      if (v.type != share::value::kind::table) continue;
      const share::node* target = nullptr;
      if (to != nullptr) {
        const share::tree& nt = *to->owner;
        std::int64_t q = -1;
        if (k.type == share::value::kind::string) {
          q = nt.position(*to, t.text(k.as.index));
        } else {
          q = nt.position(*to, k);
        }
        if (q >= 0) {
          const share::value& nv = value_ref(*to, q);
          if (nv.type == share::value::kind::table) target = &nt.at(nv.as.index);
        }
      }
      walk(t.at(v.as.index), target);
    }
  }
};

// Moves the proxies (state table at 1) as the walk found, to the version `target`. Every
// proxy of a moved node moves, not only the one the node's cache names: a service can hold two
// proxies of one node (an old version's, moved by an earlier update onto a node it had queried
// anew), and both must follow the next update. Trivial locals only.
int move_proxies(lua_State* L, const repointer& r, share::tree& target) {
  hold_version(L, 1, target);
  lua_getfield(L, 1, "proxies");  // 2
  lua_getfield(L, 1, "nodes");    // 3
  lua_getfield(L, 1, "funcs");    // 4
  lua_pushnil(L);
  while (lua_next(L, 3) != 0) {  // proxy at -2, its node (or false) at -1
    const auto* old_node = static_cast<const share::node*>(lua_touserdata(L, -1));
    lua_pop(L, 1);
    const auto move = old_node == nullptr ? r.moves.end() : r.moves.find(old_node);
    if (move == r.moves.end()) continue;
    const share::node* new_node = move->second;
    if (lua_rawgetp(L, 2, old_node) != LUA_TNIL) {
      lua_pushnil(L);
      lua_rawsetp(L, 2, old_node);
    }
    lua_pop(L, 1);
    if (new_node != nullptr) {
      if (lua_rawgetp(L, 2, new_node) == LUA_TNIL) {
        lua_pushvalue(L, -2);
        lua_rawsetp(L, 2, new_node);
      }
      lua_pop(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, 4);  // its functions belong to the old version
    // An existing key of the table being walked: allowed during lua_next.
    lua_pushvalue(L, -1);
    if (new_node != nullptr) {
      lua_pushlightuserdata(L, address(new_node));
    } else {
      lua_pushboolean(L, 0);
    }
    lua_rawset(L, 3);
  }
  return 0;
}

// update(oldptr, newptr): this service's proxies of the old version show the new one.
int core_update(lua_State* L) {
  luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
  luaL_checktype(L, 2, LUA_TLIGHTUSERDATA);
  const auto* from = static_cast<const share::node*>(lua_touserdata(L, 1));
  const auto* to = static_cast<const share::node*>(lua_touserdata(L, 2));
  if (from == nullptr || to == nullptr) return luaL_error(L, "null version");
  lua_settop(L, 0);
  lua_pushvalue(L, lua_upvalueindex(up_state));
  cxx_failure failure;
  int n = -1;
  {
    repointer r;
    failure.run([&] { r.walk(*from, to); });
    if (!failure.failed()) {
      n = protect(
          L, 1, [&](lua_State* S) { return move_proxies(S, r, *to->owner); }, failure);
    }
  }
  if (n < 0) {
    if (failure.failed()) failure.raise(L);
    return lua_error(L);
  }
  return 0;
}

// ---- the matrix: one version, built in the sharetable service --------------------------------

struct matrix {
  share::tree* tree;  // one count; null once closed
};

matrix* matrix_at(lua_State* L) {
  return static_cast<matrix*>(luaL_checkudata(L, 1, matrix_metatable));
}

int matrix_close(lua_State* L) {
  matrix* m = matrix_at(L);
  if (m->tree != nullptr) release(*m->tree);
  m->tree = nullptr;
  return 0;
}

int matrix_getptr(lua_State* L) {
  matrix* m = matrix_at(L);
  if (m->tree == nullptr) return 0;
  lua_pushlightuserdata(L, address(&m->tree->root()));
  return 1;
}

int matrix_size(lua_State* L) {
  matrix* m = matrix_at(L);
  lua_pushinteger(L, m->tree == nullptr ? 0 : static_cast<lua_Integer>(m->tree->bytes()));
  return 1;
}

// Runs in the fresh state S under lua_pcall: load the source, call it with the arguments,
// convert the result. Upvalues: the converter, the caller's state (its stack: source, then the
// arguments, all checked plain values).
int build_version(lua_State* S) {
  auto* converter = static_cast<share_converter*>(lua_touserdata(S, lua_upvalueindex(1)));
  auto* L = static_cast<lua_State*>(lua_touserdata(S, lua_upvalueindex(2)));
  const int top = lua_gettop(L);
  std::size_t size = 0;
  const char* source = lua_tolstring(L, 1, &size);
  int loaded = 0;
  if (size > 0 && source[0] == '@') {
    loaded = luaL_loadfile(S, source + 1);
  } else {
    loaded = luaL_loadbuffer(S, source, size, source);
  }
  if (loaded != LUA_OK) return lua_error(S);
  luaL_checkstack(S, top, nullptr);
  for (int i = 2; i <= top; ++i) {
    switch (lua_type(L, i)) {
      case LUA_TBOOLEAN:
        lua_pushboolean(S, lua_toboolean(L, i));
        break;
      case LUA_TNUMBER:
        if (lua_isinteger(L, i) != 0) {
          lua_pushinteger(S, lua_tointeger(L, i));
        } else {
          lua_pushnumber(S, lua_tonumber(L, i));
        }
        break;
      case LUA_TLIGHTUSERDATA:
        lua_pushlightuserdata(S, lua_touserdata(L, i));
        break;
      case LUA_TFUNCTION:
        lua_pushcfunction(S, lua_tocfunction(L, i));
        break;
      default:
        lua_pushnil(S);
    }
  }
  lua_call(S, top - 1, 1);
  if (!lua_istable(S, -1)) {
    return luaL_error(S, "Not a table, it's a %s.", luaL_typename(S, -1));
  }
  cxx_failure failure;
  if (protect(
          S, 1,
          [&](lua_State* inner) {
            converter->run(inner, 1);
            return 0;
          },
          failure) < 0) {
    if (failure.failed()) failure.raise(S);
    return lua_error(S);
  }
  return 0;
}

struct state_closer {
  void operator()(lua_State* L) const noexcept { lua_close(L); }
};

// What building a version produced: the tree, or the error text.
struct built {
  std::unique_ptr<share::tree> tree;
  std::string error;
};

void push_matrix(lua_State* L, built& result) {
  auto* box = static_cast<matrix*>(lua_newuserdatauv(L, sizeof(matrix), 0));
  box->tree = nullptr;
  luaL_setmetatable(L, matrix_metatable);
  retain(*result.tree);
  box->tree = result.tree.release();
}

// matrix(table) -> box: a version of a table of this state (sharetable.loadtable)
int matrix_of_table(lua_State* L) {
  lua_settop(L, 1);
  cxx_failure failure;
  int n = -1;
  {
    built result;
    share_converter converter(share_rules::sharetable);
    n = protect(
        L, 1,
        [&](lua_State* S) {
          converter.run(S, 1);
          return 0;
        },
        failure);
    if (n >= 0) {
      result.tree = converter.take();
      n = protect(
          L, 0,
          [&](lua_State* S) {
            push_matrix(S, result);
            return 1;
          },
          failure);
    }
  }
  if (n < 0) {
    if (failure.failed()) failure.raise(L);
    return lua_error(L);
  }
  return 1;
}

// matrix(source, ...) -> box
int core_matrix(lua_State* L) {
  if (lua_istable(L, 1)) return matrix_of_table(L);
  luaL_checkstring(L, 1);
  const int top = lua_gettop(L);
  for (int i = 2; i <= top; ++i) {
    const int type = lua_type(L, i);
    bool plain = type == LUA_TBOOLEAN || type == LUA_TNUMBER || type == LUA_TNIL ||
                 type == LUA_TLIGHTUSERDATA;
    if (lua_iscfunction(L, i) != 0) {
      plain = lua_getupvalue(L, i, 1) == nullptr;
      if (!plain) lua_pop(L, 1);
    }
    if (!plain) luaL_argerror(L, i, "Type invalid");
  }
  native(
      L,
      [&] {
        built result;
        const std::unique_ptr<lua_State, state_closer> fresh(luaL_newstate());
        if (fresh == nullptr) throw std::bad_alloc();
        lua_State* S = fresh.get();
        share_converter converter(share_rules::sharetable);
        luaL_openlibs(S);
        lua_pushlightuserdata(S, &converter);
        lua_pushlightuserdata(S, L);
        lua_pushcclosure(S, build_version, 2);
        if (lua_pcall(S, 0, 0, 0) != LUA_OK) {
          const char* text = lua_tostring(S, -1);
          result.error = text == nullptr ? "error object is not a string" : text;
        } else {
          result.tree = converter.take();
        }
        return result;
      },
      [](lua_State* S, built& result) {
        if (!result.error.empty()) {
          lua_pushlstring(S, result.error.data(), result.error.size());
          return lua_error(S);
        }
        push_matrix(S, result);
        return 1;
      });
  return 1;
}

}  // namespace

int open_sharetable_core(lua_State* L) {
  if (luaL_newmetatable(L, holder_metatable) != 0) {
    lua_pushcfunction(L, holder_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, matrix_metatable) != 0) {
    const luaL_Reg methods[] = {{"getptr", matrix_getptr},
                                {"size", matrix_size},
                                {"close", matrix_close},
                                {nullptr, nullptr}};
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, matrix_close);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  const luaL_Reg functions[] = {{"matrix", core_matrix},
                                {"clone", core_clone},
                                {"is_sharedtable", core_is_sharedtable},
                                {"stackvalues", core_stackvalues},
                                {"next", core_next},
                                {"update", core_update},
                                {nullptr, nullptr}};
  luaL_newlibtable(L, functions);
  push_state(L);
  luaL_setfuncs(L, functions, 1);
  return 1;
}

}  // namespace starling::lua
