#pragma once
// A loaded sproto schema: the types and protocols of a bundle (the binary that sprotoparser
// makes and sproto.core.newproto reads; docs/LIBRARIES.md, "sproto"). Immutable once loaded,
// so one schema may be read from any number of threads.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace starling::sproto {

enum class kind : std::uint8_t { integer, boolean, string, real, structure };

struct type;

struct field {
  std::string name;
  int tag = 0;
  kind what = kind::integer;
  bool array = false;
  bool binary = false;       // a string field declared `binary` (same wire form)
  std::int64_t decimal = 0;  // integer(n): 10^n; 0 for a plain integer
  const type* st = nullptr;  // the struct type of kind::structure
  int key = -1;              // *T(key): the tag of T's main-index field
  bool map = false;          // *T(): a two-field struct read as key -> value
};

struct type {
  std::string name;
  std::vector<field> fields;  // ascending tags

  [[nodiscard]] const field* find(int tag) const;
  [[nodiscard]] const field* find(std::string_view field_name) const;

  /// The most entries an encoded struct of this type has: one per field, and a skip before a
  /// field whose tag does not follow the previous field's (absent fields only merge skips).
  [[nodiscard]] std::size_t max_entries() const noexcept {
    std::size_t n = fields.size();
    int next = 0;
    for (const field& f : fields) {
      if (f.tag != next) ++n;
      next = f.tag + 1;
    }
    return n;
  }
};

struct protocol {
  std::string name;
  int tag = 0;
  const type* request = nullptr;
  const type* response = nullptr;
  bool confirm = false;  // `response nil`: an empty response is expected
};

class schema {
 public:
  /// Reads a bundle; null when it is not a valid one (never raises for bad bytes).
  static std::unique_ptr<schema> load(std::string_view bundle);

  schema(const schema&) = delete;
  schema& operator=(const schema&) = delete;
  ~schema() = default;

  [[nodiscard]] const type* find_type(std::string_view name) const;
  [[nodiscard]] const protocol* find_protocol(int tag) const;
  [[nodiscard]] const protocol* find_protocol(std::string_view name) const;
  [[nodiscard]] std::span<const type> types() const { return types_; }
  [[nodiscard]] std::span<const protocol> protocols() const { return protocols_; }

  /// A readable listing of every type and protocol (sproto.core.dumpproto).
  [[nodiscard]] std::string dump() const;

 private:
  schema() = default;
  bool read(std::string_view bundle);

  std::vector<type> types_;  // sized once before fields point into it
  std::vector<protocol> protocols_;
};

}  // namespace starling::sproto
