#include "lua/skynet_api.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <span>
#include <string>
#include <string_view>

#include "lua/lua_seri.hpp"
#include "lua/protected.hpp"
#include "lua/skynet_api_internal.hpp"

// The tables of `require "skynet"` and "skynet.core", and the message callback. The functions
// live in files of one concern each: skynet_messages.cpp (send, call, ret), skynet_coroutines.cpp
// (fork, sleep, wait, tracing), skynet_start.cpp (start, protocols), skynet_node.cpp (identity,
// environment, commands), skynet_support.cpp (addresses, posting a message).

namespace starling::lua {

using namespace api;  // NOLINT(google-build-using-namespace): the tables name every function

namespace {

// ---- the tables -------------------------------------------------------------------------------

// Sorted by name: lazy_index searches it (checked at compile time below).
constexpr luaL_Reg skynet_functions[] = {
    {"address", l_address},
    {"call", l_call},
    {"context", l_context},
    {"dispatch", l_dispatch},
    {"dispatch_message", dispatch_message},
    {"dispatch_unknown_request", l_dispatch_unknown_request},
    {"dispatch_unknown_response", l_dispatch_unknown_response},
    {"endless", l_endless},
    {"error", l_error},
    {"exit", l_exit},
    {"fork", l_fork},
    {"genid", l_genid},
    {"getenv", l_getenv},
    {"harbor", l_harbor},
    {"hpc", l_hpc},
    {"ignoreret", l_ignoreret},
    {"info_func", l_info_func},
    {"init", l_init},
    {"init_service", l_init_service},
    {"killthread", l_killthread},
    {"localname", l_localname},
    {"memlimit", l_memlimit},
    {"mqlen", l_mqlen},
    {"newservice", l_newservice},
    {"now", l_now},
    {"pack", lua::pack},
    {"packstring", lua::packstring},
    {"queryservice", l_queryservice},
    {"rawcall", l_rawcall},
    {"rawsend", l_rawsend},
    {"redirect", l_redirect},
    {"register_protocol", l_register_protocol},
    {"response", l_response},
    {"ret", l_ret},
    {"retpack", l_retpack},
    {"self", l_self},
    {"send", l_send},
    {"setenv", l_setenv},
    {"sleep", l_sleep},
    {"start", l_start},
    {"starttime", l_starttime},
    {"stat", l_stat},
    {"task", l_task},
    {"term", l_term},
    {"time", l_time},
    {"timeout", l_timeout},
    {"tostring", l_tostring},
    {"trace", l_trace},
    {"trace_timeout", l_trace_timeout},
    {"tracecall", l_tracecall},
    {"tracelog", l_tracelog},
    {"traceproto", l_traceproto},
    {"tracetag", l_tracetag},
    {"trash", l_trash},
    {"uniqueservice", l_uniqueservice},
    {"unpack", lua::unpack},
    {"wait", l_wait},
    {"wakeup", l_wakeup},
    {"yield", l_yield},
    {nullptr, nullptr},
};

constexpr bool sorted_by_name(std::span<const luaL_Reg> table) {
  for (std::size_t i = 1; i + 1 < table.size(); ++i) {  // the last entry is the null one
    if (std::string_view(table[i - 1].name) >= std::string_view(table[i].name)) return false;
  }
  return true;
}
static_assert(sorted_by_name(skynet_functions), "skynet_functions must stay sorted by name");

const luaL_Reg core_functions[] = {
    {"send", l_core_send},
    {"redirect", l_redirect},
    {"genid", l_genid},
    {"command", l_command},
    {"intcommand", l_intcommand},
    {"addresscommand", l_addresscommand},
    {"callback", l_callback},
    {"error", l_error},
    {"harbor", l_harbor},
    {"pack", lua::pack},
    {"packstring", lua::packstring},
    {"unpack", lua::unpack},
    {"tostring", l_tostring},
    {"trash", l_trash},
    {"now", l_now},
    {"hpc", l_hpc},
    {"trace", l_tracelog},
    {nullptr, nullptr},
};

struct constant {
  const char* name;
  ptype value;
};

const constant ptypes[] = {
    {"PTYPE_TEXT", ptype::text},
    {"PTYPE_RESPONSE", ptype::response},
    {"PTYPE_MULTICAST", ptype::multicast},
    {"PTYPE_CLIENT", ptype::client},
    {"PTYPE_SYSTEM", ptype::system},
    {"PTYPE_HARBOR", ptype::harbor},
    {"PTYPE_SOCKET", ptype::socket},
    {"PTYPE_ERROR", ptype::error},
    {"PTYPE_QUEUE", ptype::queue},
    {"PTYPE_DEBUG", ptype::debug},
    {"PTYPE_LUA", ptype::lua},
    {"PTYPE_SNAX", ptype::snax},
    {"PTYPE_TRACE", ptype::trace},
};

void load_extra(lua_State* L, scheduler& s) {
  s.mark_extra_loaded();
  lua_getglobal(L, "require");
  lua_pushliteral(L, "skynet.extra");
  lua_call(L, 1, 0);
}

// The table starts empty: a field is looked up here on first use and stored, so a service
// holds only the entries it touches. What C does not provide comes from
// lualib/skynet/extra.lua, loaded once.
int lazy_index(lua_State* L) {
  std::size_t length = 0;
  const char* key = lua_tolstring(L, 2, &length);
  if (key == nullptr || lua_type(L, 2) != LUA_TSTRING) return 0;
  scheduler& s = host(L);
  const auto end = std::end(skynet_functions) - 1;  // the array ends with a null entry
  const auto* f =
      std::lower_bound(std::begin(skynet_functions), end, key,
                       [](const luaL_Reg& r, const char* k) { return std::strcmp(r.name, k) < 0; });
  if (f != end && std::strcmp(f->name, key) == 0) {
    if (f->func == l_memlimit && s.memlimit_taken()) return 0;
    lua_pushcfunction(L, f->func);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
  }
  for (const constant& c : ptypes) {
    if (std::strcmp(c.name, key) != 0) continue;
    lua_pushinteger(L, static_cast<lua_Integer>(c.value));
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
  }
  if (s.extra_loaded()) return 0;
  load_extra(L, s);
  lua_settop(L, 2);
  lua_rawget(L, 1);
  return 1;
}

// pairs(skynet) sees every field, as with skynet's plain table: the lazy ones are stored first.
int lazy_pairs(lua_State* L) {
  scheduler& s = host(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  for (const luaL_Reg* f = std::begin(skynet_functions); f->name != nullptr; ++f) {
    if (f->func == l_memlimit && s.memlimit_taken()) continue;
    lua_getfield(L, 1, f->name);  // __index stores it
    lua_pop(L, 1);
  }
  for (const constant& c : ptypes) {
    lua_getfield(L, 1, c.name);
    lua_pop(L, 1);
  }
  if (!s.extra_loaded()) load_extra(L, s);
  lua_getglobal(L, "next");
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

}  // namespace

int dispatch_message(lua_State* L) {
  scheduler& s = host(L);
  const auto type = static_cast<int>(luaL_checkinteger(L, 1));
  const void* data = lua_touserdata(L, 2);
  const auto size = static_cast<std::size_t>(luaL_optinteger(L, 3, 0));
  const auto session = static_cast<std::int32_t>(luaL_optinteger(L, 4, 0));
  const auto source = static_cast<handle_t>(luaL_optinteger(L, 5, 0));
  s.dispatch(L, type, data, size, session, source);
  if (!s.has_failures()) return 0;
  native(
      L, [&] { return s.take_failures(); },
      [](lua_State* S, const std::string& failures) {
        lua_pushlstring(S, failures.data(), failures.size());
        return 1;
      });
  return lua_error(L);
}

int traceback_handler(lua_State* L) {
  const char* message = lua_tostring(L, 1);
  if (message == nullptr && !lua_isnoneornil(L, 1)) {
    message = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, message, 1);
  return 1;
}

int dispatch_incoming(lua_State* L) {
  scheduler& s = host(L);
  const auto* m = static_cast<const incoming*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  s.dispatch(L, m->type, m->data, m->size, m->session, m->source);
  return 0;
}

int open_skynet(lua_State* L) {
  scheduler& s = host(L);
  lua_createtable(L, 0, 8);
  lua_getglobal(L, "pcall");
  lua_setfield(L, -2, "pcall");
  using packing = scheduler::packing;
  s.register_builtin(L, "lua", static_cast<int>(ptype::lua), packing::seri, nullptr);
  s.register_builtin(L, "response", static_cast<int>(ptype::response), packing::none, nullptr);
  s.register_builtin(L, "error", static_cast<int>(ptype::error), packing::identity, nullptr);
  s.register_builtin(L, "debug", static_cast<int>(ptype::debug), packing::seri, debug_dispatch);
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, lazy_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, lazy_pairs);
  lua_setfield(L, -2, "__pairs");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  s.set_module(luaL_ref(L, LUA_REGISTRYINDEX));
  return 1;
}

int open_deadline(lua_State* L) {
  const luaL_Reg functions[] = {
      {"call", l_deadline_call},
      {"rawcall", l_deadline_rawcall},
      {nullptr, nullptr},
  };
  luaL_newlib(L, functions);
  return 1;
}

int open_skynet_core(lua_State* L) {
  (void)host(L);
  luaL_newlib(L, core_functions);
  return 1;
}

}  // namespace starling::lua
