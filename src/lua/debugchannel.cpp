#include "lua/debugchannel.hpp"

#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "lua/protected.hpp"
#include "lua/scheduler.hpp"

namespace starling::lua {

namespace {

constexpr const char* channel_meta = "starling.debugchannel";

/// Command lines from the console's side (the debug agent) to the debugged service.
struct channel {
  std::mutex lock;
  std::deque<std::string> lines;
  bool connected = false;  // the reading end exists
};

/// Every live channel by id: the two ends live in different Lua states.
class channel_table {
 public:
  static channel_table& instance() {
    static channel_table table;
    return table;
  }

  lua_Integer add(const std::shared_ptr<channel>& c) {
    const std::lock_guard guard(lock_);
    std::erase_if(channels_, [](const auto& entry) { return entry.second.expired(); });
    const lua_Integer id = next_++;
    channels_.emplace(id, c);
    return id;
  }

  /// The channel `id`, if it lives and has no reader yet; it has one afterwards.
  std::shared_ptr<channel> connect(lua_Integer id) {
    const std::lock_guard guard(lock_);
    const auto found = channels_.find(id);
    if (found == channels_.end()) return nullptr;
    std::shared_ptr<channel> c = found->second.lock();
    if (c == nullptr) return nullptr;
    const std::lock_guard channel_guard(c->lock);
    if (c->connected) return nullptr;
    c->connected = true;
    return c;
  }

 private:
  std::mutex lock_;
  std::unordered_map<lua_Integer, std::weak_ptr<channel>> channels_;
  lua_Integer next_ = 1;
};

using channel_box = std::shared_ptr<channel>;

channel& checked_channel(lua_State* L) {
  auto* box = static_cast<channel_box*>(luaL_checkudata(L, 1, channel_meta));
  return **box;
}

int l_read(lua_State* L) {
  channel& c = checked_channel(L);
  return native(
      L,
      [&] {
        std::optional<std::string> line;
        const std::lock_guard guard(c.lock);
        if (!c.lines.empty()) {
          line = std::move(c.lines.front());
          c.lines.pop_front();
        }
        return line;
      },
      [](lua_State* S, const std::optional<std::string>& line) {
        if (!line) return 0;
        lua_pushlstring(S, line->data(), line->size());
        return 1;
      });
}

int l_write(lua_State* L) {
  channel& c = checked_channel(L);
  std::size_t size = 0;
  const char* text = luaL_checklstring(L, 2, &size);
  native(L, [&] {
    const std::lock_guard guard(c.lock);
    c.lines.emplace_back(text, size);
  });
  return 0;
}

int l_gc(lua_State* L) {
  auto* box = static_cast<channel_box*>(luaL_checkudata(L, 1, channel_meta));
  std::destroy_at(box);
  return 0;
}

// Pushes a userdata that holds a reference to `c` (under native's protected push).
int push_channel(lua_State* L, const std::shared_ptr<channel>& c) {
  void* memory = lua_newuserdatauv(L, sizeof(channel_box), 0);
  // The metatable first: if building it raises (out of memory), nothing is constructed yet
  // that its __gc would have to destroy.
  if (luaL_newmetatable(L, channel_meta) != 0) {
    constexpr luaL_Reg methods[] = {{"read", l_read}, {"write", l_write}, {nullptr, nullptr}};
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  std::construct_at(static_cast<channel_box*>(memory), c);
  return 1;
}

struct new_channel {
  std::shared_ptr<channel> c;
  lua_Integer id = 0;
};

int l_create(lua_State* L) {
  return native(
      L,
      [] {
        new_channel n{std::make_shared<channel>()};
        n.id = channel_table::instance().add(n.c);
        return n;
      },
      [](lua_State* S, const new_channel& n) {
        push_channel(S, n.c);
        lua_pushinteger(S, n.id);
        return 2;
      });
}

int l_connect(lua_State* L) {
  const lua_Integer id = luaL_checkinteger(L, 1);
  const bool found = native(
                         L, [&] { return channel_table::instance().connect(id); },
                         [](lua_State* S, const std::shared_ptr<channel>& c) {
                           if (c == nullptr) return 0;
                           return push_channel(S, c);
                         }) != 0;
  if (!found) return luaL_error(L, "new channel failed");
  return 1;
}

// ---- the yielding hook ---------------------------------------------------------------------

// registry[&hook_functions]: thread -> its Lua hook (weak keys, as debug.sethook keeps them).
const char hook_functions = 0;

void push_hook_table(lua_State* L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &hook_functions) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_createtable(L, 0, 1);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &hook_functions);
}

// Calls the thread's Lua hook with (event, line, source); a true result on a line event
// suspends the thread where it stands.
void run_hook(lua_State* L, lua_Debug* ar) {
  static constexpr const char* events[] = {"call", "return", "line", "count", "tail call"};
  push_hook_table(L);
  lua_pushthread(L);
  if (lua_rawget(L, -2) != LUA_TFUNCTION) {
    lua_pop(L, 2);
    return;
  }
  lua_pushstring(L, events[ar->event]);
  if (ar->event == LUA_HOOKLINE) {
    lua_pushinteger(L, ar->currentline);
  } else {
    lua_pushnil(L);
  }
  if (lua_getinfo(L, "S", ar) != 0) {
    lua_pushstring(L, ar->short_src);
  } else {
    lua_pushnil(L);
  }
  lua_call(L, 3, 1);
  const bool pause = lua_toboolean(L, -1) != 0;
  lua_pop(L, 2);
  if (pause && ar->event == LUA_HOOKLINE && lua_isyieldable(L) != 0) (void)lua_yield(L, 0);
}

int l_sethook(lua_State* L) {
  lua_State* target = L;
  int arg = 1;
  if (lua_isthread(L, 1)) {
    target = lua_tothread(L, 1);
    arg = 2;
  }
  int mask = 0;
  if (!lua_isnoneornil(L, arg)) {
    luaL_checktype(L, arg, LUA_TFUNCTION);
    const char* letters = luaL_checkstring(L, arg + 1);
    if (std::strchr(letters, 'c') != nullptr) mask |= LUA_MASKCALL;
    if (std::strchr(letters, 'r') != nullptr) mask |= LUA_MASKRET;
    if (std::strchr(letters, 'l') != nullptr) mask |= LUA_MASKLINE;
  }
  lua_settop(L, arg);  // the function (or nil) on top
  push_hook_table(L);
  lua_pushthread(target);
  lua_xmove(target, L, 1);
  lua_pushvalue(L, arg);
  lua_rawset(L, -3);
  if (mask == 0) {
    lua_sethook(target, nullptr, 0, 0);
  } else {
    lua_sethook(target, run_hook, mask, 0);
  }
  return 0;
}

// ---- the scheduler's side ------------------------------------------------------------------

scheduler& checked_scheduler(lua_State* L) {
  scheduler* s = scheduler::of(L);
  if (s == nullptr) luaL_error(L, "skynet.debugchannel: not inside a Lua service");
  return *s;
}

int l_dispatch_hook(lua_State* L) {
  if (!lua_isnil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
  checked_scheduler(L).set_dispatch_hook(L, 1);
  return 0;
}

int l_resume(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTHREAD);
  lua_pushboolean(L, checked_scheduler(L).resume_paused(lua_tothread(L, 1)) ? 1 : 0);
  return 1;
}

}  // namespace

int open_debugchannel(lua_State* L) {
  constexpr luaL_Reg functions[] = {
      {"create", l_create},   {"connect", l_connect},
      {"sethook", l_sethook}, {"dispatch_hook", l_dispatch_hook},
      {"resume", l_resume},   {nullptr, nullptr},
  };
  luaL_newlib(L, functions);
  return 1;
}

}  // namespace starling::lua
