#include "core/config.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../support/temp_dir.hpp"

namespace starling {
namespace {

namespace fs = std::filesystem;

// Each test gets a fresh directory for its config files, removed afterwards.
class config_test : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const auto& name : env_vars_)
      unsetenv(name.c_str());
  }

  // Writes `text` to dir/relative (creating subdirectories) and returns the full path.
  std::string write(const std::string& relative, const std::string& text) {
    fs::path path = dir_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }

  // A process environment variable with a name unique to this test binary and test.
  std::string set_var(const std::string& suffix, const std::string& value) {
    std::string name = "STARLING_CFG_TEST_" + std::to_string(getpid()) + "_" + suffix;
    setenv(name.c_str(), value.c_str(), 1);
    env_vars_.push_back(name);
    return name;
  }

  // The message of the config_error thrown by load_config(path); fails the test if none is.
  static std::string error_of(const std::string& path) {
    try {
      (void)load_config(path);
    } catch (const config_error& e) {
      return e.what();
    }
    ADD_FAILURE() << "load_config(" << path << ") did not throw";
    return {};
  }

  static std::string settings_error_of(const config_map& values) {
    try {
      (void)parse_node_settings(values);
    } catch (const config_error& e) {
      return e.what();
    }
    ADD_FAILURE() << "parse_node_settings did not throw";
    return {};
  }

  testing::temp_dir temp_{"starling-config"};
  const fs::path& dir_ = temp_.root();
  std::vector<std::string> env_vars_;
};

// EXPECT_PRED_FORMAT2 helper: passes when `text` contains `part`, else prints both.
::testing::AssertionResult has_substr(const char* text_expr, const char* part_expr,
                                      const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << text_expr << " (\"" << text << "\") does not contain "
                                       << part_expr << " (\"" << part << "\")";
}
#define EXPECT_CONTAINS(text, part) EXPECT_PRED_FORMAT2(has_substr, text, part)

// ---- basic evaluation ---------------------------------------------------------------------

TEST_F(config_test, minimal_example_evaluates_to_strings) {
  auto path = write("config", R"(root = "./"
thread = 8
harbor = 0
start = "main"
bootstrap = "snlua bootstrap"
luaservice = root.."service/?.lua;"..root.."examples/?.lua"
cpath = root.."cservice/?.so"
)");
  config_map values = load_config(path);
  EXPECT_EQ(values, (config_map{{"root", "./"},
                                {"thread", "8"},
                                {"harbor", "0"},
                                {"start", "main"},
                                {"bootstrap", "snlua bootstrap"},
                                {"luaservice", "./service/?.lua;./examples/?.lua"},
                                {"cpath", "./cservice/?.so"}}));
}

TEST_F(config_test, empty_file_gives_empty_map) {
  EXPECT_TRUE(load_config(write("config", "")).empty());
}

TEST_F(config_test, missing_file_fails_naming_it) {
  std::string path = (dir_ / "no_such_config").string();
  std::string message = error_of(path);
  EXPECT_CONTAINS(message, "no_such_config");
  EXPECT_CONTAINS(message, "No such file");
}

TEST_F(config_test, syntax_error_names_file_and_line) {
  auto path = write("config", "a = 1\nb = = 2\n");
  std::string message = error_of(path);
  EXPECT_EQ(message.rfind(path + ":2:", 0), 0U) << message;
}

TEST_F(config_test, relative_path_is_relative_to_working_directory) {
  write("sub/config", "include \"other\"\nx = 1\n");
  write("sub/other", "y = 2\n");
  fs::path previous = fs::current_path();
  fs::current_path(dir_);
  config_map values;
  std::string message;
  try {
    values = load_config("sub/config");
    (void)load_config("sub/broken");
  } catch (const config_error& e) {
    message = e.what();
  }
  fs::current_path(previous);
  EXPECT_EQ(values, (config_map{{"x", "1"}, {"y", "2"}}));
  EXPECT_CONTAINS(message, "./sub/broken");
}

TEST_F(config_test, chunk_name_is_the_path_as_given) {
  auto path = write("config", "x = nosuch.field\n");
  std::string message = error_of(path);
  EXPECT_EQ(message.rfind(path + ":1:", 0), 0U) << message;
}

TEST_F(config_test, binary_chunk_is_rejected) {
  auto path = write("config", std::string("\x1bLua\x54\x00", 6));
  EXPECT_CONTAINS(error_of(path), "binary");
}

TEST_F(config_test, later_lines_read_earlier_keys) {
  auto values = load_config(write("config", "a = 2\nb = a * 3\nc = a .. \"x\"\n"));
  EXPECT_EQ(values.at("b"), "6");
  EXPECT_EQ(values.at("c"), "2x");
}

TEST_F(config_test, reading_an_undefined_key_gives_nil) {
  auto values = load_config(write("config", "b = undefined_key == nil\n"));
  EXPECT_EQ(values.at("b"), "true");
}

// ---- $NAME substitution (checklist 3) -----------------------------------------------------

TEST_F(config_test, variable_in_string_and_numeric_context) {
  std::string start = set_var("START", "my_main");
  std::string threads = set_var("THREADS", "4");
  auto values =
      load_config(write("config", "start = \"$" + start + "\"\nthread = $" + threads + " + 1\n"));
  EXPECT_EQ(values.at("start"), "my_main");
  EXPECT_EQ(values.at("thread"), "5");
}

TEST_F(config_test, variable_value_is_inserted_literally) {
  std::string name = set_var("PERCENT", "a%1\\n");
  auto values = load_config(write("config", "s = [[$" + name + "]]\n"));
  EXPECT_EQ(values.at("s"), "a%1\\n");
}

TEST_F(config_test, unset_variable_fails) {
  std::string name = "STARLING_CFG_TEST_UNSET_" + std::to_string(getpid());
  unsetenv(name.c_str());
  EXPECT_CONTAINS(error_of(write("config", "x = \"$" + name + "\"\n")),
                  "os.getenv() failed: " + name);
}

TEST_F(config_test, unset_variable_in_a_comment_also_fails) {
  std::string name = "STARLING_CFG_TEST_COMMENT_" + std::to_string(getpid());
  unsetenv(name.c_str());
  EXPECT_CONTAINS(error_of(write("config", "x = 1 -- uses $" + name + "\n")),
                  "os.getenv() failed: " + name);
}

TEST_F(config_test, set_variable_in_a_comment_is_substituted_harmlessly) {
  std::string name = set_var("NEWLINE", "\ny = 7");
  auto values = load_config(write("config", "x = 1 -- $" + name + "\n"));
  EXPECT_EQ(values.at("y"), "7");  // substitution precedes parsing
}

TEST_F(config_test, dollar_not_followed_by_a_name_char_is_left_alone) {
  auto values = load_config(write("config", "s = \"$ cost $$ ${x} $\"\n"));
  EXPECT_EQ(values.at("s"), "$ cost $$ ${x} $");
}

TEST_F(config_test, variable_name_takes_all_name_chars) {
  std::string name = set_var("LONG_1", "whole");
  set_var("LONG", "prefix");
  auto values = load_config(write("config", "s = \"$" + name + ".x\"\n"));
  EXPECT_EQ(values.at("s"), "whole.x");
}

TEST_F(config_test, included_files_are_substituted_too) {
  std::string name = set_var("INC", "from_env");
  write("part", "v = \"$" + name + "\"\n");
  auto values = load_config(write("config", "include \"part\"\n"));
  EXPECT_EQ(values.at("v"), "from_env");
}

// ---- include (checklist 4) ----------------------------------------------------------------

TEST_F(config_test, include_of_a_file_in_a_subdirectory) {
  write("conf/paths.lua", "lua_path = \"./lualib/?.lua\"\n");
  auto values = load_config(write("config", "include \"conf/paths.lua\"\nthread = 2\n"));
  EXPECT_EQ(values, (config_map{{"lua_path", "./lualib/?.lua"}, {"thread", "2"}}));
}

TEST_F(config_test, nested_include_is_relative_to_the_including_file) {
  write("conf/a.lua", "a = 1\ninclude \"inner/b.lua\"\ninclude \"c.lua\"\n");
  write("conf/inner/b.lua", "b = 2\ninclude \"d.lua\"\n");
  write("conf/inner/d.lua", "d = 4\n");
  write("conf/c.lua", "c = 3\n");
  write("c.lua", "c = \"wrong directory\"\n");
  // After the includes return, the main file's directory is current again.
  write("e.lua", "e = 5\n");
  auto values = load_config(write("config", "include \"conf/a.lua\"\ninclude \"e.lua\"\n"));
  EXPECT_EQ(values, (config_map{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}}));
}

TEST_F(config_test, later_assignments_override_earlier_ones) {
  write("base.lua", "thread = 2\nharbor = 3\nname = \"base\"\n");
  auto values = load_config(write("config", "thread = 1\ninclude \"base.lua\"\nharbor = 9\n"));
  EXPECT_EQ(values.at("thread"), "2");  // the include ran after thread = 1
  EXPECT_EQ(values.at("harbor"), "9");
  EXPECT_EQ(values.at("name"), "base");
}

TEST_F(config_test, included_file_sees_keys_of_the_includer) {
  write("part.lua", "path = root .. \"lib\"\n");
  auto values = load_config(write("config", "root = \"./x/\"\ninclude \"part.lua\"\n"));
  EXPECT_EQ(values.at("path"), "./x/lib");
}

TEST_F(config_test, include_of_an_absolute_path) {
  std::string absolute = write("elsewhere/abs.lua", "abs = true\ninclude \"rel.lua\"\n");
  write("elsewhere/rel.lua", "rel = 1\n");
  auto values = load_config(write("sub/config", "include \"" + absolute + "\"\n"));
  EXPECT_EQ(values, (config_map{{"abs", "true"}, {"rel", "1"}}));
}

TEST_F(config_test, include_of_a_missing_file_fails_naming_it) {
  auto path = write("sub/config", "include \"missing_part.lua\"\n");
  std::string message = error_of(path);
  EXPECT_CONTAINS(message, (dir_ / "sub" / "missing_part.lua").string());
}

TEST_F(config_test, syntax_error_in_an_include_uses_its_name) {
  write("conf/bad.lua", "x = (\n");
  std::string message = error_of(write("config", "include \"conf/bad.lua\"\n"));
  EXPECT_EQ(message.rfind("conf/bad.lua:", 0), 0U) << message;
}

TEST_F(config_test, endless_include_recursion_is_an_error_not_a_crash) {
  std::string message = error_of(write("config", "include \"config\"\n"));
  EXPECT_CONTAINS(message, "stack overflow");
}

TEST_F(config_test, include_is_not_a_config_key) {
  auto values = load_config(write("config", "x = include ~= nil\n"));
  EXPECT_EQ(values, (config_map{{"x", "true"}}));
}

TEST_F(config_test, include_without_an_argument_fails) {
  EXPECT_CONTAINS(error_of(write("config", "include()\n")), "bad argument #1");
}

// ---- sandbox (checklist 5) ----------------------------------------------------------------

TEST_F(config_test, standard_library_is_not_visible) {
  for (const char* chunk : {"x = tostring(1)\n", "print(1)\n", "x = os.getenv(\"HOME\")\n",
                            "x = string.rep(\"a\", 2)\n", "x = (\"a\"):upper()\n",
                            "x = require(\"os\")\n", "x = _G.print\n"}) {
    std::string message = error_of(write("config", chunk));
    EXPECT_CONTAINS(message, "attempt to");
  }
}

TEST_F(config_test, tostring_error_names_the_global) {
  std::string message = error_of(write("config", "x = tostring(1)\n"));
  EXPECT_CONTAINS(message, "global 'tostring'");
}

// ---- value conversion (checklist 6) -------------------------------------------------------

TEST_F(config_test, values_convert_like_lua_tostring) {
  auto values = load_config(write("config",
                                  "num = 42\nflt = 1.5\nflag = false\nyes = true\n"
                                  "neg = -3\nwhole_float = 8.0\nbig = 1e100\nhex = 0x10\n"
                                  "s = \"text\"\nempty = \"\"\n"));
  EXPECT_EQ(values, (config_map{{"num", "42"},
                                {"flt", "1.5"},
                                {"flag", "false"},
                                {"yes", "true"},
                                {"neg", "-3"},
                                {"whole_float", "8.0"},
                                {"big", "1e+100"},
                                {"hex", "16"},
                                {"s", "text"},
                                {"empty", ""}}));
}

TEST_F(config_test, string_with_embedded_zero_is_kept) {
  auto values = load_config(write("config", "s = \"a\\0b\"\n"));
  EXPECT_EQ(values.at("s"), std::string("a\0b", 3));
}

TEST_F(config_test, table_value_fails) {
  EXPECT_EQ(error_of(write("config", "t = {}\n")), "Invalid config table key = t");
}

TEST_F(config_test, function_value_fails) {
  EXPECT_EQ(error_of(write("config", "f = function() end\n")), "Invalid config table key = f");
}

TEST_F(config_test, non_string_key_fails) {
  EXPECT_EQ(error_of(write("config", "_ENV[1] = \"x\"\n")), "Invalid config table");
}

TEST_F(config_test, nil_value_means_absent) {
  auto values = load_config(write("config", "logger = nil\na = 1\nb = 2\nb = nil\n"));
  EXPECT_EQ(values, (config_map{{"a", "1"}}));
}

// ---- core settings (checklists 7 and 8) ---------------------------------------------------

TEST_F(config_test, thread_out_of_range_fails) {
  EXPECT_EQ(settings_error_of({{"thread", "0"}}), "Invalid thread 0 , should be in [1,1024]");
  EXPECT_EQ(settings_error_of({{"thread", "2000"}}), "Invalid thread 2000 , should be in [1,1024]");
  EXPECT_EQ(settings_error_of({{"thread", "-1"}}), "Invalid thread -1 , should be in [1,1024]");
  EXPECT_EQ(settings_error_of({{"thread", "many"}}), "Invalid thread 0 , should be in [1,1024]");
}

TEST_F(config_test, thread_zero_from_a_file_fails_the_node) {
  environment env;
  try {
    (void)load_node_config(write("config", "thread = 0\n"), env);
    ADD_FAILURE() << "no error";
  } catch (const config_error& e) {
    EXPECT_STREQ(e.what(), "Invalid thread 0 , should be in [1,1024]");
  }
}

TEST_F(config_test, socket_limits_must_be_non_negative_integers) {
  for (const char* key : {"socket_write_limit", "socket_pause_mqlen"}) {
    for (const char* bad : {"-1", "1.5", "1e+06", "64M", "", " 1"}) {
      EXPECT_EQ(settings_error_of({{key, bad}}),
                fmt::format("Invalid {} {} , should be a non-negative integer", key, bad));
    }
    EXPECT_NO_THROW((void)parse_node_settings(config_map{{key, "0"}}));
  }
  environment env;
  EXPECT_EQ(size_setting(env, "socket_write_limit", 7), 7U) << "absent: the fallback";
  (void)load_node_config(write("config", "socket_write_limit = 64 * 1024 * 1024\n"), env);
  EXPECT_EQ(size_setting(env, "socket_write_limit", 7), 64U << 20) << "Lua arithmetic works";
}

TEST_F(config_test, thread_bounds_are_inclusive) {
  EXPECT_EQ(parse_node_settings(config_map{{"thread", "1"}}).thread, 1);
  EXPECT_EQ(parse_node_settings(config_map{{"thread", "1024"}}).thread, 1024);
  EXPECT_EQ(parse_node_settings(config_map{{"thread", "1.5"}}).thread, 1);  // strtol
}

TEST_F(config_test, defaults_are_written_back) {
  environment env;
  node_settings settings = load_node_config(write("config", "start = \"main\"\n"), env);
  EXPECT_EQ(env.get("thread"), "8");
  EXPECT_EQ(env.get("harbor"), "1");
  EXPECT_EQ(env.get("cpath"), "./cservice/?.so");
  EXPECT_EQ(env.get("bootstrap"), "snlua bootstrap");
  EXPECT_EQ(env.get("logservice"), "logger");
  EXPECT_EQ(env.get("profile"), "true");
  EXPECT_EQ(env.get("start"), "main");
  for (const char* absent : {"lua_path", "lua_cpath", "luaservice", "lualoader", "preload",
                             "logger", "daemon", "standalone"}) {
    EXPECT_FALSE(env.get(absent).has_value()) << absent;
  }
  EXPECT_EQ(env.size(), 7U);

  EXPECT_EQ(settings.thread, 8);
  EXPECT_EQ(settings.harbor, 1);
  EXPECT_EQ(settings.cpath, "./cservice/?.so");
  EXPECT_EQ(settings.cpath_templates, (std::vector<std::string>{"./cservice/?.so"}));
  EXPECT_EQ(settings.bootstrap, "snlua bootstrap");
  EXPECT_EQ(settings.logservice, "logger");
  EXPECT_FALSE(settings.logger.has_value());
  EXPECT_FALSE(settings.daemon.has_value());
  EXPECT_TRUE(settings.profile);
}

TEST_F(config_test, configured_values_are_not_overwritten_by_defaults) {
  config_map values{{"thread", "2"}, {"harbor", "0"}, {"profile", "false"}};
  apply_core_defaults(values);
  EXPECT_EQ(values.at("thread"), "2");
  EXPECT_EQ(values.at("harbor"), "0");
  EXPECT_EQ(values.at("profile"), "false");
  EXPECT_EQ(values.at("cpath"), "./cservice/?.so");
  EXPECT_EQ(values.size(), 6U);
  EXPECT_EQ(values.count("lua_path"), 0U);
}

TEST_F(config_test, configured_node) {
  environment env;
  auto settings = load_node_config(write("config",
                                         "thread = 2\nharbor = 0\nprofile = false\n"
                                         "logger = \"node.log\"\ndaemon = \"./x.pid\"\n"
                                         "logservice = \"snlua\"\nbootstrap = \"snlua boot a b\"\n"
                                         "cpath = \"./a/?.so;;./b/?.so;\"\n"),
                                   env);
  EXPECT_EQ(settings.thread, 2);
  EXPECT_EQ(settings.harbor, 0);
  EXPECT_FALSE(settings.profile);
  EXPECT_EQ(settings.logger, "node.log");
  EXPECT_EQ(settings.daemon, "./x.pid");
  EXPECT_EQ(settings.logservice, "snlua");
  EXPECT_EQ(settings.bootstrap, "snlua boot a b");
  EXPECT_EQ(settings.cpath_templates, (std::vector<std::string>{"./a/?.so", "./b/?.so"}));
  EXPECT_EQ(env.get("harbor"), "0");
  EXPECT_EQ(env.get("profile"), "false");
  EXPECT_EQ(env.get("logger"), "node.log");
}

TEST_F(config_test, harbor_keeps_the_low_8_bits) {
  EXPECT_EQ(parse_node_settings(config_map{{"harbor", "257"}}).harbor, 1);
  EXPECT_EQ(parse_node_settings(config_map{{"harbor", "255"}}).harbor, 255);
  EXPECT_EQ(parse_node_settings(config_map{{"harbor", "-1"}}).harbor, 255);
}

TEST_F(config_test, profile_is_true_only_for_the_string_true) {
  EXPECT_TRUE(parse_node_settings(config_map{{"profile", "true"}}).profile);
  EXPECT_FALSE(parse_node_settings(config_map{{"profile", "false"}}).profile);
  EXPECT_FALSE(parse_node_settings(config_map{{"profile", "1"}}).profile);
  EXPECT_FALSE(parse_node_settings(config_map{{"profile", "TRUE"}}).profile);
}

TEST_F(config_test, call_timeout_and_shutdown_timeout_are_whole_centiseconds) {
  const node_settings defaults = parse_node_settings(config_map{});
  EXPECT_EQ(defaults.call_timeout, 0);  // absent: calls wait as long as skynet's
  EXPECT_EQ(defaults.shutdown_timeout, 500);
  const node_settings set =
      parse_node_settings(config_map{{"call_timeout", "250"}, {"shutdown_timeout", "0"}});
  EXPECT_EQ(set.call_timeout, 250);
  EXPECT_EQ(set.shutdown_timeout, 0);
  EXPECT_EQ(settings_error_of({{"call_timeout", "0"}}),
            "Invalid call_timeout 0 , should be a whole number of centiseconds in [1,3153600000]");
  EXPECT_CONTAINS(settings_error_of({{"call_timeout", "1.5"}}),
                  std::string("Invalid call_timeout"));
  EXPECT_CONTAINS(settings_error_of({{"call_timeout", "5s"}}), std::string("Invalid call_timeout"));
  EXPECT_CONTAINS(settings_error_of({{"call_timeout", "true"}}),
                  std::string("Invalid call_timeout"));
  EXPECT_CONTAINS(settings_error_of({{"shutdown_timeout", "-1"}}),
                  std::string("Invalid shutdown_timeout -1 , should be a whole number"));
  EXPECT_CONTAINS(settings_error_of({{"shutdown_timeout", "99999999999"}}),
                  std::string("Invalid shutdown_timeout"));
}

TEST_F(config_test, cpath_template_without_question_mark_fails) {
  EXPECT_CONTAINS(settings_error_of({{"cpath", "./a/?.so;./b/x.so"}}),
                  std::string("Invalid C service path"));
}

TEST_F(config_test, settings_from_environment_match_settings_from_map) {
  environment env;
  env.set("thread", "3");
  env.set("harbor", "7");
  auto settings = parse_node_settings(env);
  EXPECT_EQ(settings.thread, 3);
  EXPECT_EQ(settings.harbor, 7);
  EXPECT_TRUE(settings.profile);
}

}  // namespace
}  // namespace starling
