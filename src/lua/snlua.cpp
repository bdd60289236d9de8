#include "lua/snlua.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "core/node.hpp"
#include "lua/bson_module.hpp"
#include "lua/cluster_core.hpp"
#include "lua/code_cache.hpp"
#include "lua/crypt_module.hpp"
#include "lua/debugchannel.hpp"
#include "lua/loader.hpp"
#include "lua/ltls_module.hpp"
#include "lua/lua_seri.hpp"
#include "lua/memory.hpp"
#include "lua/mongo_module.hpp"
#include "lua/netpack.hpp"
#include "lua/profile.hpp"
#include "lua/protected.hpp"
#include "lua/share_modules.hpp"
#include "lua/skynet_api.hpp"
#include "lua/socketdriver.hpp"
#include "lua/sproto_module.hpp"
#include "lua/stdlibs.hpp"

namespace starling::lua {

namespace {

constexpr const char* default_lua_path = "./lualib/?.lua;./lualib/?/init.lua";
constexpr const char* default_lua_cpath = "./luaclib/?.so";
// Searched after lua_cpath, configured or not: where Debian installs Lua 5.4's C modules (as its
// own Lua searches it), so `require "lpeg"` (lua-lpeg, which sprotoparser needs) works with a
// skynet config whose lua_cpath names skynet's luaclib/, where skynet keeps its own lpeg.so.
constexpr const char* system_lua_cpath = ";" LUA_CDIR2 "?.so";
constexpr const char* default_luaservice = "./service/?.lua";
constexpr const char* default_loader = "./lualib/loader.lua";

// Pushes the environment's value of `key`, else `fallback` (nil when null).
void push_env(lua_State* L, const environment& env, const char* key, const char* fallback) {
  native(
      L, [&] { return env.get(key); },
      [&](lua_State* S, const std::optional<std::string>& value) {
        if (value) {
          lua_pushlstring(S, value->data(), value->size());
        } else if (fallback != nullptr) {
          lua_pushstring(S, fallback);
        } else {
          lua_pushnil(S);
        }
        return 1;
      });
}

void set_global_from_env(lua_State* L, const environment& env, const char* key, const char* global,
                         const char* fallback) {
  push_env(L, env, key, fallback);
  lua_setglobal(L, global);
}

// The modules built into the binary, found by name instead of being put in every state's
// package.preload: that table stays empty unless Lua code fills it.
constexpr luaL_Reg builtin_modules[] = {
    {"bson", open_bson},
    {"ltls.c", open_ltls},
    {"md5.core", open_md5_core},
    {"skynet", open_skynet},
    {"skynet.cluster.core", open_cluster_core},
    {"skynet.codecache", open_codecache},
    {"skynet.core", open_skynet_core},
    {"skynet.crypt", open_crypt},
    {"skynet.datasheet.core", open_datasheet_core},
    {"skynet.deadline", open_deadline},
    {"skynet.debugchannel", open_debugchannel},
    {"skynet.loader", open_loader},
    {"skynet.memory", open_memory},
    {"skynet.mongo.driver", open_mongo_driver},
    {"skynet.multicast.core", open_multicast_core},
    {"skynet.netpack", open_netpack},
    {"skynet.profile", open_profile},
    {"skynet.seri", open_seri},
    {"skynet.sharedata.core", open_sharedata_core},
    {"skynet.sharetable.core", open_sharetable_core},
    {"skynet.socketdriver", open_socketdriver},
    {"skynet.stm", open_stm},
    {"sproto.core", open_sproto_core},
};

// package.searchers[1]: Lua's preload searcher (upvalue 1), then the native modules; a name
// found in neither gets the preload searcher's own message.
int search_preload(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, 1);
  lua_call(L, 1, 2);
  if (lua_isfunction(L, -2)) return 2;
  for (const luaL_Reg& m : builtin_modules) {
    if (std::strcmp(m.name, name) == 0) {
      lua_pushcfunction(L, m.func);
      lua_pushliteral(L, ":preload:");
      return 2;
    }
  }
  lua_pop(L, 1);
  return 1;
}

// The last of package.searchers. Lua's file searcher says only "no file 'p'" for a file that
// exists but cannot be opened (no descriptor left, no permission); this one names the system
// error of each such candidate of package.path. It never finds a module.
int search_unreadable(lua_State* L) {
  luaL_checkstring(L, 1);
  const char* name = luaL_gsub(L, lua_tostring(L, 1), ".", LUA_DIRSEP);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  const char* at = lua_tostring(L, -1);
  const int base = lua_gettop(L);
  while (at != nullptr && *at != '\0') {
    const char* end = std::strchr(at, ';');
    if (end == nullptr) end = at + std::strlen(at);
    if (end > at) {
      lua_pushlstring(L, at, static_cast<std::size_t>(end - at));
      const char* candidate = luaL_gsub(L, lua_tostring(L, -1), "?", name);
      const int fd = ::open(candidate, O_RDONLY | O_CLOEXEC);
      const int error = errno;
      if (fd >= 0) ::close(fd);
      if (fd < 0 && error != ENOENT && error != ENOTDIR) {
        lua_pushfstring(L, "%scannot open '%s': %s", lua_gettop(L) > base + 2 ? "\n\t" : "",
                        candidate, std::strerror(error));
        lua_replace(L, -3);
        lua_pop(L, 1);
      } else {
        lua_pop(L, 2);
      }
    }
    at = *end == ';' ? end + 1 : end;
  }
  const int found = lua_gettop(L) - base;
  if (found == 0) return 0;
  lua_concat(L, found);
  return 1;
}

}  // namespace

std::span<const luaL_Reg> native_modules() noexcept {
  return builtin_modules;
}

namespace {

std::int32_t response_session(const message* msg) noexcept {
  return msg != nullptr && msg->type == ptype::response ? msg->session : 0;
}

void install_native_modules(lua_State* L) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  lua_rawgeti(L, -1, 1);
  lua_pushcclosure(L, search_preload, 1);
  lua_rawseti(L, -2, 1);
  lua_pushcfunction(L, search_unreadable);
  lua_rawseti(L, -2, static_cast<lua_Integer>(lua_rawlen(L, -2)) + 1);
  lua_pop(L, 2);
}

}  // namespace

snlua::~snlua() = default;

void* snlua::allocate(void* ud, void* block, std::size_t old_size, std::size_t new_size) {
  auto* host = static_cast<snlua*>(ud);
  if (block == nullptr) old_size = 0;  // then old_size tells the object type, not a size
  // Only the service's own thread writes the count: relaxed accesses suffice.
  const std::size_t used = host->used_.load(std::memory_order_relaxed);
  const std::size_t blocks = host->blocks_.load(std::memory_order_relaxed);
  if (new_size == 0) {
    if (block != nullptr) {
      host->heap_.release(block, old_size);
      host->blocks_.store(blocks - 1, std::memory_order_relaxed);
    }
    host->used_.store(used - old_size, std::memory_order_relaxed);
    return nullptr;
  }
  if (host->limit_ != 0 && new_size > old_size && used + (new_size - old_size) > host->limit_) {
    return nullptr;  // Lua raises "not enough memory"
  }
  void* grown = block == nullptr ? host->heap_.allocate(new_size)
                                 : host->heap_.resize(block, old_size, new_size);
  if (grown == nullptr) return nullptr;
  if (block == nullptr) host->blocks_.store(blocks + 1, std::memory_order_relaxed);
  const std::size_t now = used + new_size - old_size;
  host->used_.store(now, std::memory_order_relaxed);
  if (now > host->warn_at_ && host->self_ != nullptr) {
    host->warn_at_ *= 2;
    host->self_->log(
        fmt::format("Memory warning {:.2f} M", static_cast<double>(now) / (1024.0 * 1024.0)));
  }
  return grown;
}

bool snlua::init(context& self, std::string_view param) {
  self_ = &self;
  // Lua runs on a worker, after the launch returned: the parameter comes back as a message.
  return self.send(self.handle(), ptype::text, 0, payload::copy_of(param));
}

// Builds the state and runs the loader. Returns (true) or (false, log line).
int snlua::boot_protected(lua_State* L) {
  auto* host = static_cast<snlua*>(lua_touserdata(L, 1));
  context& self = *host->self_;
  const environment& env = self.owner().env();
  lua_gc(L, LUA_GCSTOP);
  lua_pushboolean(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");  // ignore LUA_PATH-style variables
  open_standard_libraries(L);
  native(L, [&] { host->scheduler_ = std::make_unique<scheduler>(self, L); });
  install_native_modules(L);
  install_timing_coroutines(L);
  install_code_cache(L);
  set_global_from_env(L, env, "lua_path", "LUA_PATH", default_lua_path);
  set_global_from_env(L, env, "lua_cpath", "LUA_CPATH", default_lua_cpath);
  lua_getglobal(L, "LUA_CPATH");
  lua_pushstring(L, system_lua_cpath);
  lua_concat(L, 2);
  lua_setglobal(L, "LUA_CPATH");
  set_global_from_env(L, env, "luaservice", "LUA_SERVICE", default_luaservice);
  set_global_from_env(L, env, "preload", "LUA_PRELOAD", nullptr);
  lua_gc(L, LUA_GCGEN, 0, 0);

  push_env(L, env, "lualoader", default_loader);
  const char* loader = lua_tostring(L, -1);
  lua_pushcfunction(L, traceback_handler);
  const int handler = lua_gettop(L);
  if (load_file_cached(L, loader, nullptr) != LUA_OK) {
    lua_pushboolean(L, 0);
    lua_pushfstring(L, "Can't load %s : %s", loader, lua_tostring(L, -2));
    return 2;
  }
  lua_pushlstring(L, host->param_.data(), host->param_.size());
  if (lua_pcall(L, 1, 0, handler) != LUA_OK) {
    lua_pushboolean(L, 0);
    lua_pushfstring(L, "lua loader error : %s", lua_tostring(L, -2));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

void snlua::fail_boot(context& self) {
  (void)self.owner().send(self.handle(), ".launcher", ptype::text, 0, payload::copy_of("ERROR"));
  self.exit();
}

void snlua::boot(context& self) {
  lua_State* L = lua_newstate(&snlua::allocate, this);
  if (L == nullptr) {
    self.log("lua: cannot create a state");
    fail_boot(self);
    return;
  }
  state_.reset(L);
  lua_pushcfunction(L, &snlua::boot_protected);
  lua_pushlightuserdata(L, this);
  const int status = lua_pcall(L, 1, 2, 0);
  if (status != LUA_OK || lua_toboolean(L, -2) == 0) {
    const char* why = lua_tostring(L, -1);
    self.log(why == nullptr ? "lua loader error : (no message)" : why);
    lua_settop(L, 0);
    fail_boot(self);
    return;
  }
  lua_settop(L, 0);
  if (scheduler_->memlimit() != 0) {
    limit_ = scheduler_->memlimit();
    self.log(fmt::format("Set memory limit to {:.2f} M",
                         static_cast<double>(limit_) / (1024.0 * 1024.0)));
  }
  lua_gc(L, LUA_GCRESTART);
  booted_.store(scheduler_.get(), std::memory_order_release);
}

namespace {

void log_failure(context& self, const message& msg, std::size_t size, std::string_view why) {
  self.log(fmt::format("lua call [{:x} to {} : {} msgsz = {}] error : \x1b[31m{}\x1b[0m",
                       msg.source, format_handle_short(self.handle()), msg.session, size, why));
}

}  // namespace

void snlua::dispatch(context& self, message& msg) {
  if (!state_) {
    param_.assign(msg.data.view());
    boot(self);
    return;
  }
  if (!scheduler_ || scheduler_->callback() == LUA_NOREF || scheduler_->exiting()) return;
  lua_State* L = state_.get();
  scheduler_->set_active(L);
  const mailbox& inbox = self.inbox();
  scheduler_->expect(response_session(inbox.upcoming(0)), response_session(inbox.upcoming(1)));
  const std::size_t size = msg.data.size();
  void* data = nullptr;
  if (size != 0) data = scheduler_->forwards() ? msg.data.release_malloced() : msg.data.data();
  int status = LUA_OK;
  if (scheduler_->native_callback()) {
    // skynet.start's dispatcher: the message goes over as one pointer, not five Lua values.
    if (scheduler_->needs_protection(static_cast<int>(msg.type), msg.session)) {
      incoming m{static_cast<int>(msg.type), data, size, msg.session, msg.source};
      lua_pushcfunction(L, traceback_handler);
      lua_pushcfunction(L, dispatch_incoming);
      lua_pushlightuserdata(L, &m);
      status = lua_pcall(L, 1, 0, 1);
    } else {
      scheduler_->dispatch(L, static_cast<int>(msg.type), data, size, msg.session, msg.source);
    }
  } else {
    lua_pushcfunction(L, traceback_handler);
    lua_rawgeti(L, LUA_REGISTRYINDEX, scheduler_->callback());
    lua_pushinteger(L, static_cast<lua_Integer>(msg.type));
    lua_pushlightuserdata(L, data);
    lua_pushinteger(L, static_cast<lua_Integer>(size));
    lua_pushinteger(L, msg.session);
    lua_pushinteger(L, msg.source);
    status = lua_pcall(L, 5, 0, 1);
  }
  if (status == LUA_ERRMEM) {
    self.log(fmt::format("lua memory error : [{:x} to {} : {}]", msg.source,
                         format_handle_short(self.handle()), msg.session));
  } else if (status == LUA_ERRERR) {
    self.log(fmt::format("lua error in error : [{:x} to {} : {}]", msg.source,
                         format_handle_short(self.handle()), msg.session));
  } else if (status != LUA_OK) {
    const char* why = lua_tostring(L, -1);
    log_failure(self, msg, size, why == nullptr ? "(no message)" : why);
  }
  if (scheduler_->has_failures()) log_failure(self, msg, size, scheduler_->take_failures());
  if (lua_gettop(L) != 0) lua_settop(L, 0);  // a protected call's handler and error
  scheduler_->set_active(nullptr);
}

namespace {

void raise_signal(lua_State* L, lua_Debug* ar) {
  (void)ar;
  lua_sethook(L, nullptr, 0, 0);
  scheduler* s = scheduler::of(L);
  luaL_error(L, "signal %d", s == nullptr ? 0 : s->pending_signal());
}

}  // namespace

void snlua::signal(context& self, int number) {
  self.log(fmt::format("recv a signal {}", number));
  scheduler* s = booted_.load(std::memory_order_acquire);
  if (s == nullptr) return;
  if (number == 1) {
    self.log(fmt::format("Current Memory {:.3f}K",
                         static_cast<double>(used_.load(std::memory_order_relaxed)) / 1024.0));
    return;
  }
  s->raise_signal(number);
  lua_State* running = s->active();
  // lua_sethook may be called from another thread: it is how Lua's own interpreter stops
  // a script on SIGINT.
  lua_sethook(running != nullptr ? running : s->main_state(), raise_signal,
              LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

void register_snlua(module_registry& modules) {
  modules.add("snlua", [] { return std::make_unique<snlua>(); });
}

}  // namespace starling::lua
