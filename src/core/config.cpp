#include "core/config.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <lua.hpp>
#include <memory>
#include <string_view>
#include <system_error>
#include <utility>

namespace starling {
namespace {

// Lua is built as C, so its errors are longjmps. No function below that can raise a Lua error
// has a local with a destructor: all C++ state lives in `evaluator`, which belongs to
// load_config, a frame outside the protected call.

struct lua_closer {
  void operator()(lua_State* state) const noexcept { lua_close(state); }
};
using lua_ptr = std::unique_ptr<lua_State, lua_closer>;

// stdio rather than ifstream: a read error (a directory given as config) must be reported.
struct file_closer {
  void operator()(std::FILE* file) const noexcept {
    std::fclose(file);  // NOLINT(cppcoreguidelines-owning-memory): owned by unique_ptr
  }
};

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// strerror is not thread-safe; the category's message is.
std::string errno_text() {
  return std::generic_category().message(errno);
}

class evaluator {
 public:
  explicit evaluator(std::string main_path) : main_path_(std::move(main_path)) {}

  [[nodiscard]] const std::string& main_path() const { return main_path_; }
  [[nodiscard]] const std::string& text() const { return text_; }
  [[nodiscard]] std::string_view error() const { return error_; }

  // Resolves `name` against the current directory, makes that file's directory current and
  // reads the file into text() with $NAME substituted. On failure sets error() and returns false.
  bool enter(std::string_view name) noexcept {
    try {
      saved_dirs_.push_back(current_dir_);
      std::string_view file = name;
      if (auto slash = name.rfind('/'); slash != std::string_view::npos) {
        std::string_view dir = name.substr(0, slash + 1);
        if (dir.front() == '/') {
          current_dir_.assign(dir);
        } else {
          current_dir_.append(dir);
        }
        file = name.substr(slash + 1);
      }
      std::string path = current_dir_;
      path.append(file);
      return read(path) && substitute(path);
    } catch (const std::exception& e) {
      return fail(e.what());
    }
  }

  // Restores the directory that was current before the matching enter().
  void leave() noexcept {
    current_dir_.swap(saved_dirs_.back());
    saved_dirs_.pop_back();
  }

  void drop_text() noexcept { std::string().swap(text_); }

 private:
  bool fail(std::string_view message) noexcept {
    try {
      error_.assign(message);
    } catch (...) {
      error_.clear();  // the Lua layer still reports an (empty) error
    }
    return false;
  }

  bool read(const std::string& path) {
    std::unique_ptr<std::FILE, file_closer> file(std::fopen(path.c_str(), "rb"));
    if (!file) return fail(fmt::format("cannot open {}: {}", path, errno_text()));
    std::string content;
    char chunk[4096];
    while (std::size_t n = std::fread(chunk, 1, sizeof chunk, file.get()))
      content.append(chunk, n);
    if (std::ferror(file.get())) {
      return fail(fmt::format("cannot read {}: {}", path, errno_text()));
    }
    text_ = std::move(content);
    return true;
  }

  // Textual, before parsing: comments and string literals are not special.
  bool substitute(const std::string& path) {
    if (text_.find('$') == std::string::npos) return true;
    std::string out;
    out.reserve(text_.size());
    std::size_t i = 0;
    while (i < text_.size()) {
      std::size_t dollar = text_.find('$', i);
      if (dollar == std::string::npos) {
        out.append(text_, i);
        break;
      }
      out.append(text_, i, dollar - i);
      std::size_t end = dollar + 1;
      while (end < text_.size() && is_name_char(text_[end]))
        ++end;
      if (end == dollar + 1) {
        out.push_back('$');
      } else {
        std::string name = text_.substr(dollar + 1, end - dollar - 1);
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) return fail(fmt::format("{}: os.getenv() failed: {}", path, name));
        out.append(value);
      }
      i = end;
    }
    text_ = std::move(out);
    return true;
  }

  std::string main_path_;
  std::string current_dir_ = "./";
  std::vector<std::string> saved_dirs_;
  std::string text_;
  std::string error_;
};

// include(name): upvalue 1 is the evaluator, upvalue 2 the result table R.
int lua_include(lua_State* state) {
  std::size_t length = 0;
  const char* name = luaL_checklstring(state, 1, &length);
  auto* eval = static_cast<evaluator*>(lua_touserdata(state, lua_upvalueindex(1)));
  if (!eval->enter(std::string_view(name, length))) {
    lua_pushlstring(state, eval->error().data(), eval->error().size());
    return lua_error(state);
  }
  lua_pushliteral(state, "@");
  lua_pushvalue(state, 1);
  lua_concat(state, 2);
  int status = luaL_loadbufferx(state, eval->text().data(), eval->text().size(),
                                lua_tostring(state, -1), "t");
  eval->drop_text();
  if (status != LUA_OK) return lua_error(state);
  lua_pushvalue(state, lua_upvalueindex(2));
  lua_setupvalue(state, -2, 1);  // a main chunk's first upvalue is _ENV
  lua_call(state, 0, 0);
  eval->leave();
  return 0;
}

// Protected entry. Arg 1: the evaluator. Returns a table of the config converted to strings.
int lua_evaluate(lua_State* state) {
  auto* eval = static_cast<evaluator*>(lua_touserdata(state, 1));
  lua_newtable(state);  // 2: R, the chunk's globals
  lua_pushlightuserdata(state, eval);
  lua_pushvalue(state, 2);
  lua_pushcclosure(state, lua_include, 2);  // 3: include
  // `include` is reached through R's metatable so that it never becomes a config key.
  lua_createtable(state, 0, 1);  // 4: metatable
  lua_createtable(state, 0, 1);  // 5: __index
  lua_pushvalue(state, 3);
  lua_setfield(state, 5, "include");
  lua_setfield(state, 4, "__index");
  lua_setmetatable(state, 2);  // stack: eval, R, include
  lua_pushlstring(state, eval->main_path().data(), eval->main_path().size());
  lua_call(state, 1, 0);  // stack: eval, R
  lua_pushnil(state);
  lua_setmetatable(state, 2);

  lua_newtable(state);  // 3: the converted table
  lua_pushnil(state);
  while (lua_next(state, 2) != 0) {  // 4: key, 5: value
    if (lua_type(state, 4) != LUA_TSTRING) {
      lua_pushliteral(state, "Invalid config table");
      return lua_error(state);
    }
    lua_pushvalue(state, 4);
    switch (lua_type(state, 5)) {
      case LUA_TBOOLEAN:
        if (lua_toboolean(state, 5)) {
          lua_pushliteral(state, "true");
        } else {
          lua_pushliteral(state, "false");
        }
        break;
      case LUA_TNUMBER:
        lua_pushvalue(state, 5);
        lua_tolstring(state, -1, nullptr);  // converts the copy in place, with Lua's own format
        break;
      case LUA_TSTRING:
        lua_pushvalue(state, 5);
        break;
      default:
        lua_pushliteral(state, "Invalid config table key = ");
        lua_pushvalue(state, 4);
        lua_concat(state, 2);
        return lua_error(state);
    }
    lua_rawset(state, 3);
    lua_pop(state, 1);  // keep the key for lua_next
  }
  return 1;
}

// The written-back defaults (docs/CONFIG.md), in one place for both defaults functions.
struct core_default {
  const char* key;
  const char* value;
};
constexpr core_default core_defaults[] = {
    {"thread", "8"},
    {"harbor", "1"},
    {"cpath", "./cservice/?.so"},
    {"bootstrap", "snlua bootstrap"},
    {"logservice", "logger"},
    {"profile", "true"},
};

// skynet reads integers with strtol: leading blanks and sign, then digits; anything else is 0.
long parse_integer(const std::string& text) {
  return std::strtol(text.c_str(), nullptr, 10);
}

// A duration key of Starling's own, in ticks: a whole number in [minimum, one year], nothing
// else (a typo must not silently become "no deadline").
std::int64_t parse_ticks(const char* key, const std::string& text, std::int64_t minimum) {
  constexpr std::int64_t year = 365LL * 24 * 3600 * 100;
  std::int64_t value = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < minimum || value > year) {
    throw config_error(
        fmt::format("Invalid {} {} , should be a whole number of centiseconds in "
                    "[{},{}]",
                    key, text, minimum, year));
  }
  return value;
}

// Keys that subsystems read with size_setting (core/environment.hpp); checked at load so that a bad
// one stops the node at start rather than where it is first used.
constexpr const char* size_keys[] = {"socket_write_limit", "socket_pause_mqlen"};

template <typename Lookup>
node_settings parse_settings(Lookup&& lookup) {
  node_settings settings;
  if (auto thread = lookup("thread")) {
    long value = parse_integer(*thread);
    if (value < 1 || value > 1024) {
      throw config_error(fmt::format("Invalid thread {} , should be in [1,1024]", value));
    }
    settings.thread = static_cast<int>(value);
  }
  if (auto harbor = lookup("harbor")) {
    settings.harbor = static_cast<int>(static_cast<unsigned long>(parse_integer(*harbor)) & 0xffU);
  }
  if (auto cpath = lookup("cpath")) settings.cpath = std::move(*cpath);
  std::string_view rest = settings.cpath;
  while (!rest.empty()) {
    std::size_t semicolon = rest.find(';');
    std::string_view element = rest.substr(0, semicolon);
    rest = semicolon == std::string_view::npos ? std::string_view() : rest.substr(semicolon + 1);
    if (element.empty()) continue;
    if (element.find('?') == std::string_view::npos) {
      throw config_error(fmt::format("Invalid C service path : {}", element));
    }
    settings.cpath_templates.emplace_back(element);
  }
  if (auto bootstrap = lookup("bootstrap")) settings.bootstrap = std::move(*bootstrap);
  if (auto logservice = lookup("logservice")) settings.logservice = std::move(*logservice);
  settings.logger = lookup("logger");
  settings.daemon = lookup("daemon");
  if (auto profile = lookup("profile")) settings.profile = *profile == "true";
  if (auto ticks = lookup("call_timeout"))
    settings.call_timeout = parse_ticks("call_timeout", *ticks, 1);
  if (auto ticks = lookup("shutdown_timeout")) {
    settings.shutdown_timeout = parse_ticks("shutdown_timeout", *ticks, 0);
  }
  for (const char* key : size_keys) {
    if (auto text = lookup(key)) (void)parse_size_setting(key, *text);
  }
  return settings;
}

}  // namespace

config_map load_config(const std::string& path) {
  lua_ptr state(luaL_newstate());
  if (!state) throw config_error("cannot create a Lua state for the config");
  evaluator eval(path);
  lua_State* lua = state.get();
  // No library is opened: the sandbox must not see the standard library anyway.
  lua_pushcfunction(lua, lua_evaluate);
  lua_pushlightuserdata(lua, &eval);
  if (lua_pcall(lua, 1, 1, 0) != LUA_OK) {
    const char* message = lua_tostring(lua, -1);
    throw config_error(message != nullptr ? message : "error object is not a string");
  }
  // Every key and value is a string now, so reading them allocates nothing inside Lua.
  config_map values;
  lua_pushnil(lua);
  while (lua_next(lua, -2) != 0) {
    std::size_t key_length = 0;
    std::size_t value_length = 0;
    const char* key = lua_tolstring(lua, -2, &key_length);
    const char* value = lua_tolstring(lua, -1, &value_length);
    values.emplace(std::string(key, key_length), std::string(value, value_length));
    lua_pop(lua, 1);
  }
  return values;
}

void apply_core_defaults(config_map& values) {
  for (const auto& entry : core_defaults)
    values.emplace(entry.key, entry.value);
}

void apply_core_defaults(environment& env) {
  for (const auto& entry : core_defaults)
    env.set(entry.key, entry.value);
}

node_settings parse_node_settings(const config_map& values) {
  return parse_settings([&](const char* key) -> std::optional<std::string> {
    auto it = values.find(key);
    if (it == values.end()) return std::nullopt;
    return it->second;
  });
}

node_settings parse_node_settings(const environment& env) {
  return parse_settings([&](const char* key) { return env.get(key); });
}

node_settings load_node_config(const std::string& path, environment& env) {
  for (const auto& [key, value] : load_config(path))
    env.set(key, value);
  apply_core_defaults(env);
  return parse_node_settings(env);
}

}  // namespace starling
