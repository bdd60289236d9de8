#pragma once
// The node configuration file (docs/CONFIG.md).
//
// A config file is a Lua chunk run in a sandbox whose only global is `include`; every global it
// assigns becomes a string entry of the node environment. `$NAME` is replaced by the process
// environment variable NAME on the raw text before Lua sees it.

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/environment.hpp"

namespace starling {

/// A startup failure caused by the config file; what() is a one-line message.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The evaluated config: key -> value, both strings.
using config_map = std::map<std::string, std::string>;

/// Any thread, but reads the process environment with getenv, so it must not race with
/// setenv/putenv. Evaluates the config file at `path` (relative to the working directory).
/// Throws config_error on a missing file, an unset $NAME, a Lua syntax or runtime error, a
/// non-string key or a value that is neither string, number nor boolean.
[[nodiscard]] config_map load_config(const std::string& path);

/// The core settings of a node (docs/CONFIG.md), validated.
struct node_settings {
  int thread = 8;  ///< Worker threads, in [1, 1024].
  int harbor = 1;  ///< Harbor id: only the low 8 bits of the configured value.
  std::string cpath = "./cservice/?.so";
  std::vector<std::string> cpath_templates;  ///< cpath split at ';', empty elements dropped.
  std::string bootstrap = "snlua bootstrap";
  std::string logservice = "logger";
  std::optional<std::string> logger;  ///< Parameter of the logging service; absent = stdout.
  std::optional<std::string> daemon;  ///< Pid file; set = daemonize.
  bool profile = true;                ///< True only for the string "true".
  /// Deadline of every call made without one, in ticks (1/100 s); 0 (absent): none.
  std::int64_t call_timeout = 0;
  /// How long a graceful shutdown waits for the services it told, in ticks.
  std::int64_t shutdown_timeout = 500;
};

/// Caller-synchronised (mutates `values`). Inserts the written-back defaults of thread, harbor,
/// cpath, bootstrap, logservice and profile where absent; existing entries are kept.
void apply_core_defaults(config_map& values);
/// Thread-safe (environment is). Same as above, on the node environment.
void apply_core_defaults(environment& env);

/// Caller-synchronised (reads `values`). Parses and validates the core keys; an absent key takes
/// its default. Throws config_error, e.g. "Invalid thread 0 , should be in [1,1024]".
[[nodiscard]] node_settings parse_node_settings(const config_map& values);
/// Thread-safe (environment is). Same as above, reading the node environment.
[[nodiscard]] node_settings parse_node_settings(const environment& env);

/// Same contract as load_config. The whole startup sequence of skynet's config: evaluates
/// `path`, stores every entry into `env`, writes the core defaults back and returns the parsed
/// settings. Keys already present in `env` keep their value.
[[nodiscard]] node_settings load_node_config(const std::string& path, environment& env);

}  // namespace starling
