// require "skynet.sharedata.core": immutable trees (share/tree.hpp) addressed by light
// userdata, one per table, valid in every service of the process. sharedatad builds and frees
// them; readers walk them through lualib/skynet/sharedata/corelib.lua.

#include <memory>
#include <string_view>

#include "lua/protected.hpp"
#include "lua/share_convert.hpp"
#include "lua/share_modules.hpp"
#include "share/tree.hpp"

namespace starling::lua {

namespace {

constexpr const char* box_metatable = "skynet.sharedata.box";

// A service's hold on one object: one count, plus the newer version an update attached.
struct box {
  const share::node* object;
  const share::node* pending;
};

const share::node* object_at(lua_State* L, int index) {
  luaL_checktype(L, index, LUA_TLIGHTUSERDATA);
  const auto* n = static_cast<const share::node*>(lua_touserdata(L, index));
  if (n == nullptr) luaL_argerror(L, index, "null object");
  return n;
}

share::tree& owner(const share::node* n) {
  return *n->owner;
}

// A tree's count includes one for sharedatad, which it gives back with delete(): whoever
// brings the count to 0 frees the tree, so a box collected after sharedatad let go (at exit)
// finds it alive. The counts Lua sees leave that one out.
void release(share::tree& t) {
  if (t.refs.fetch_sub(1) == 1) std::unique_ptr<share::tree> last(&t);
}

void* address(const share::node& n) {
  return const_cast<share::node*>(&n);
}

int push_value(lua_State* L, const share::tree& t, const share::value& v) {
  if (v.type == share::value::kind::nil) return 0;
  if (v.type == share::value::kind::table) {
    lua_pushlightuserdata(L, address(t.at(v.as.index)));
  } else {
    push_share_scalar(L, t, v);
  }
  return 1;
}

// new(table) -> object
int core_new(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  cxx_failure failure;
  share::tree* made = nullptr;
  int n = 0;
  {
    share_converter converter(share_rules::sharedata);
    n = protect(
        L, 1,
        [&](lua_State* S) {
          converter.run(S, 1);
          return 0;
        },
        failure);
    if (n >= 0) {
      made = converter.take().release();  // freed by delete(object) and the last box
      made->refs.store(1);
    }
  }
  if (n < 0) {
    if (failure.failed()) failure.raise(L);
    return lua_error(L);
  }
  lua_pushlightuserdata(L, address(made->root()));
  return 1;
}

int core_delete(lua_State* L) {
  const share::node* n = object_at(L, 1);
  release(owner(n));
  return 0;
}

int core_incref(lua_State* L) {
  lua_pushinteger(L, owner(object_at(L, 1)).refs.fetch_add(1));
  return 1;
}

int core_decref(lua_State* L) {
  share::tree& t = owner(object_at(L, 1));
  const int before = t.refs.load();
  release(t);
  lua_pushinteger(L, before - 2);
  return 1;
}

int core_getref(lua_State* L) {
  lua_pushinteger(L, owner(object_at(L, 1)).refs.load() - 1);
  return 1;
}

int core_markdirty(lua_State* L) {
  owner(object_at(L, 1)).dirty.store(true);
  return 0;
}

int core_isdirty(lua_State* L) {
  lua_pushboolean(L, owner(object_at(L, 1)).dirty.load() ? 1 : 0);
  return 1;
}

// index(object, key) -> value | nothing
int core_index(lua_State* L) {
  const share::node* n = object_at(L, 1);
  const share::tree& t = owner(n);
  switch (lua_type(L, 2)) {
    case LUA_TNIL:
      return 0;
    case LUA_TNUMBER: {
      share::value key;
      share_key(L, 2, key);
      if (key.type != share::value::kind::integer) {
        return luaL_error(L, "Invalid key %f", lua_tonumber(L, 2));
      }
      return push_value(L, t, t.get(*n, key.as.integer));
    }
    default: {
      std::size_t size = 0;
      const char* s = luaL_checklstring(L, 2, &size);
      return push_value(L, t, t.get(*n, std::string_view(s, size)));
    }
  }
}

// read(object, key) -> value, as index; but nil, true without looking when the object is
// dirty (a newer version may be waiting): the reader's fast path, one call per access.
int core_read(lua_State* L) {
  const auto* n = static_cast<const share::node*>(lua_touserdata(L, 1));
  if (n == nullptr || lua_type(L, 1) != LUA_TLIGHTUSERDATA) return core_index(L);  // raises
  const share::tree& t = owner(n);
  if (t.dirty.load(std::memory_order_relaxed)) {
    lua_pushnil(L);
    lua_pushboolean(L, 1);
    return 2;
  }
  if (lua_type(L, 2) != LUA_TSTRING) return core_index(L);
  std::size_t size = 0;
  const char* s = lua_tolstring(L, 2, &size);
  return push_value(L, t, t.get(*n, std::string_view(s, size)));
}

// The proxies' __index (a closure from indexer(slow)): answers a string or integer key of a
// clean object whose value is not a table in one C call; anything else (a table value, a
// dirty or vanished object, another key type) goes to `slow`, corelib's __index in Lua.
// Upvalues: the string "__obj", `slow`.
int proxy_index(lua_State* L) {
  const int key_type = lua_type(L, 2);
  if (key_type == LUA_TSTRING || (key_type == LUA_TNUMBER && lua_isinteger(L, 2) != 0)) {
    lua_pushvalue(L, lua_upvalueindex(1));
    if (lua_rawget(L, 1) == LUA_TLIGHTUSERDATA) {
      const auto* n = static_cast<const share::node*>(lua_touserdata(L, -1));
      const share::tree& t = owner(n);
      if (!t.dirty.load(std::memory_order_relaxed)) {
        share::value v;
        if (key_type == LUA_TSTRING) {
          std::size_t size = 0;
          const char* s = lua_tolstring(L, 2, &size);
          v = t.get(*n, std::string_view(s, size));
        } else {
          v = t.get(*n, static_cast<std::int64_t>(lua_tointeger(L, 2)));
        }
        if (v.type != share::value::kind::table) {
          push_share_scalar(L, t, v);
          return 1;
        }
      }
    }
    lua_settop(L, 2);
  }
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  return 1;
}

// indexer(slow) -> the proxies' __index
int core_indexer(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_pushliteral(L, "__obj");
  lua_pushvalue(L, 1);
  lua_pushcclosure(L, proxy_index, 2);
  return 1;
}

// nextkey(object, key) -> the key after `key` (nil: the first) | nothing
int core_nextkey(lua_State* L) {
  const share::node* n = object_at(L, 1);
  const share::tree& t = owner(n);
  std::int64_t pos = -1;
  if (!lua_isnoneornil(L, 2)) {
    share::value key;
    if (lua_type(L, 2) == LUA_TSTRING) {
      std::size_t size = 0;
      const char* s = lua_tolstring(L, 2, &size);
      pos = t.position(*n, std::string_view(s, size));
    } else if (share_key(L, 2, key)) {
      pos = t.position(*n, key);
    }
    if (pos < 0) return 0;
  }
  pos = t.next(*n, pos);
  if (pos < 0) return 0;
  return push_value(L, t, t.entry(*n, pos).first);
}

int core_len(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(object_at(L, 1)->array.size()));
  return 1;
}

int core_hashlen(lua_State* L) {
  lua_pushinteger(L, static_cast<lua_Integer>(object_at(L, 1)->hash.size()));
  return 1;
}

box* box_at(lua_State* L, int index) {
  return static_cast<box*>(luaL_checkudata(L, index, box_metatable));
}

// box(object) -> a handle holding one count of the object
int core_box(lua_State* L) {
  const share::node* n = object_at(L, 1);
  auto* b = static_cast<box*>(lua_newuserdatauv(L, sizeof(box), 1));
  b->object = nullptr;
  b->pending = nullptr;
  luaL_setmetatable(L, box_metatable);
  owner(n).refs.fetch_add(1);
  b->object = n;
  return 1;
}

int box_gc(lua_State* L) {
  box* b = box_at(L, 1);
  if (b->object != nullptr) release(owner(b->object));
  if (b->pending != nullptr) release(owner(b->pending));
  b->object = b->pending = nullptr;
  return 0;
}

// update(box, newobject, tbl): the version the box's holder switches to on its next access
int core_update(lua_State* L) {
  box* b = box_at(L, 1);
  const share::node* n = object_at(L, 2);
  if (n == b->object) return luaL_error(L, "You should update a new object");
  lua_settop(L, 3);
  lua_setiuservalue(L, 1, 1);
  owner(n).refs.fetch_add(1);
  if (b->pending != nullptr) release(owner(b->pending));
  b->pending = n;
  return 0;
}

// needupdate(box) -> newobject, tbl | nothing
int core_needupdate(lua_State* L) {
  box* b = box_at(L, 1);
  if (b->pending == nullptr) return 0;
  lua_pushlightuserdata(L, address(*b->pending));
  lua_getiuservalue(L, 1, 1);
  return 2;
}

}  // namespace

int open_sharedata_core(lua_State* L) {
  if (luaL_newmetatable(L, box_metatable) != 0) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  const luaL_Reg functions[] = {{"new", core_new},         {"delete", core_delete},
                                {"incref", core_incref},   {"decref", core_decref},
                                {"getref", core_getref},   {"markdirty", core_markdirty},
                                {"isdirty", core_isdirty}, {"index", core_index},
                                {"read", core_read},       {"indexer", core_indexer},
                                {"nextkey", core_nextkey}, {"len", core_len},
                                {"hashlen", core_hashlen}, {"box", core_box},
                                {"update", core_update},   {"needupdate", core_needupdate},
                                {nullptr, nullptr}};
  luaL_newlib(L, functions);
  return 1;
}

}  // namespace starling::lua
