#pragma once
// A fresh directory under the system temp dir, removed with everything in it.

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace starling::testing {

class temp_dir {
 public:
  explicit temp_dir(std::string_view prefix = "starling") {
    namespace fs = std::filesystem;
    std::string pattern = (fs::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  [[nodiscard]] const std::filesystem::path& root() const noexcept { return path_; }
  [[nodiscard]] std::string path() const { return path_.string(); }
  /// The path of `name` inside the directory (not created).
  [[nodiscard]] std::string file(std::string_view name) const {
    return (path_ / std::filesystem::path(name)).string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace starling::testing
