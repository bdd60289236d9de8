#include "lua/code_cache.hpp"

#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

#include "lua/protected.hpp"

namespace starling::lua {

namespace {

enum class cache_mode { on, exist, off };

constexpr const char* mode_key = "starling.codecache.mode";

using bytecode_ptr = std::shared_ptr<const std::string>;

struct shared_cache {
  std::mutex mutex;
  std::unordered_map<std::string, bytecode_ptr> bytecode;  // file name -> lua_dump output
};

shared_cache& cache() {
  static shared_cache instance;
  return instance;
}

cache_mode mode_of(lua_State* L) {
  lua_getfield(L, LUA_REGISTRYINDEX, mode_key);
  const auto mode = static_cast<cache_mode>(lua_tointeger(L, -1));
  lua_pop(L, 1);
  return mode;
}

// lua_Writer: a nonzero result stops lua_dump (an exception must not cross its C frames).
int append_dump(lua_State* L, const void* bytes, std::size_t size, void* out) noexcept {
  (void)L;
  try {
    static_cast<std::string*>(out)->append(static_cast<const char*>(bytes), size);
  } catch (const std::bad_alloc&) {
    return 1;
  }
  return 0;
}

struct chunk_reader {
  const std::string* bytes;
  bool done = false;
};

const char* read_chunk(lua_State* L, void* data, std::size_t* size) {
  (void)L;
  auto* reader = static_cast<chunk_reader*>(data);
  if (reader->done) {
    *size = 0;
    return nullptr;
  }
  reader->done = true;
  *size = reader->bytes->size();
  return reader->bytes->data();
}

// The cached bytecode of `filename`, shared (a clear() meanwhile does not pull it away).
bytecode_ptr lookup(const char* filename) {
  shared_cache& c = cache();
  const std::lock_guard lock(c.mutex);
  const auto it = c.bytecode.find(filename);
  return it == c.bytecode.end() ? nullptr : it->second;
}

void store(const char* filename, std::string bytes) {
  shared_cache& c = cache();
  auto shared = std::make_shared<const std::string>(std::move(bytes));
  const std::lock_guard lock(c.mutex);
  c.bytecode.emplace(filename, std::move(shared));
}

// Lua's loadfile(filename, mode, env) over the cache.
int l_loadfile(lua_State* L) {
  const char* filename = luaL_optstring(L, 1, nullptr);
  const char* mode = luaL_optstring(L, 2, nullptr);
  const bool has_env = !lua_isnone(L, 3);
  if (filename == nullptr) {
    if (luaL_loadfilex(L, nullptr, mode) != LUA_OK) {
      lua_pushnil(L);
      lua_insert(L, -2);
      return 2;
    }
  } else if (load_file_cached(L, filename, mode) != LUA_OK) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  if (has_env) {
    lua_pushvalue(L, 3);
    if (lua_setupvalue(L, -2, 1) == nullptr) lua_pop(L, 1);
  }
  return 1;
}

// package.searchers[2]: Lua files along package.path, loaded through the cache.
int search_lua(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchpath");
  lua_pushstring(L, name);
  lua_getfield(L, -3, "path");
  lua_call(L, 2, 2);
  if (lua_isnil(L, -2)) return 1;  // the "no file" explanation
  lua_pop(L, 1);
  const char* filename = lua_tostring(L, -1);
  if (load_file_cached(L, filename, nullptr) != LUA_OK) {
    return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, filename,
                      lua_tostring(L, -1));
  }
  lua_pushstring(L, filename);
  return 2;
}

int l_clear(lua_State* L) {
  native(L, [] {
    shared_cache& c = cache();
    const std::lock_guard lock(c.mutex);
    c.bytecode.clear();
  });
  return 0;
}

int l_mode(lua_State* L) {
  static const char* const names[] = {"ON", "EXIST", "OFF", nullptr};
  if (!lua_isnoneornil(L, 1)) {
    const int m = luaL_checkoption(L, 1, nullptr, names);
    lua_pushinteger(L, m);
    lua_setfield(L, LUA_REGISTRYINDEX, mode_key);
  }
  lua_pushstring(L, names[static_cast<int>(mode_of(L))]);
  return 1;
}

}  // namespace

int load_file_cached(lua_State* L, const char* filename, const char* mode) {
  const cache_mode m = mode_of(L);
  if (m != cache_mode::off) {
    constexpr int missed = -1;
    int status = missed;
    cxx_failure failure;
    {
      bytecode_ptr bytes;
      failure.run([&] { bytes = lookup(filename); });
      if (bytes) {
        chunk_reader reader{bytes.get()};
        // lua_load raises nothing (errors, memory included, come back as its status), so the
        // shared bytes may be held across it.
        status = lua_load(L, read_chunk, &reader, filename, "b");
      }
    }
    if (failure.failed()) failure.raise(L);
    if (status != missed) return status;
  }
  const int status = luaL_loadfilex(L, filename, mode);
  if (status != LUA_OK || m != cache_mode::on) return status;
  // lua_dump allocates nothing from Lua: it may run inside native's work.
  native(L, [&] {
    std::string bytes;
    if (lua_dump(L, append_dump, &bytes, 0) == 0) store(filename, std::move(bytes));
  });
  return status;
}

void install_code_cache(lua_State* L) {
  lua_pushcfunction(L, l_loadfile);
  lua_setglobal(L, "loadfile");
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  lua_pushcfunction(L, search_lua);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}

int open_codecache(lua_State* L) {
  static const luaL_Reg functions[] = {
      {"clear", l_clear}, {"mode", l_mode}, {"loadfile", l_loadfile}, {nullptr, nullptr}};
  luaL_newlib(L, functions);
  return 1;
}

}  // namespace starling::lua
