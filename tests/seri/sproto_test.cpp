// The C++ sproto codec (seri/sproto_*) against the golden vectors of real skynet
// (tests/vectors/libraries.json, key sproto, read at run time): every schema bundle loads as
// skynet's did, every message decodes to what skynet's Lua decoder returned (in the Lua shape:
// maps keyed) with the same consumed size and re-encodes to the same bytes, the crafted inputs
// fail with skynet's texts, and 0-packing matches byte for byte. Then the native API's own
// edges: type errors, depth, size, slots.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <variant>

#include "../support/vector_file.hpp"
#include "seri/sproto_codec.hpp"
#include "seri/sproto_pack.hpp"
#include "seri/sproto_schema.hpp"
#include "seri/sproto_slots.hpp"

namespace starling::sproto {
namespace {

using hex_text::to_hex;
using vector_file::from_hex;
using vector_file::json;

const json& vectors() {
  static const json all = [] {
    json file = vector_file::parse(STARLING_VECTORS_DIR "/libraries.json");
    return file.is_object() ? file["sproto"] : json();
  }();
  return all;
}

// skynet's texts carry the Lua caller's position ("./lualib/sproto.lua:77: "): what follows.
std::string tail(const std::string& text) {
  const auto colon = text.find(": ");
  if (colon == std::string::npos || text.rfind(".lua:", colon) == std::string::npos) return text;
  return text.substr(colon + 2);
}

// A Lua value as the vectors describe it: tables are key -> value maps.
struct lua_value;
using lua_key = std::variant<bool, std::int64_t, std::uint64_t, std::string>;  // uint64: float bits
using lua_table = std::map<lua_key, lua_value>;
struct lua_value {
  std::variant<std::monostate, bool, std::int64_t, std::uint64_t, std::string, lua_table> v;
  friend bool operator==(const lua_value&, const lua_value&) = default;
};

std::string typed_string(const json& t) {
  if (t.contains("text")) return t["text"].get<std::string>();
  if (t.contains("hex")) return from_hex(t["hex"].get<std::string>());
  const auto length = t["length"].get<std::size_t>();
  const std::string unit = t.contains("repeat") ? t["repeat"].get<std::string>()
                                                : from_hex(t["repeat_hex"].get<std::string>());
  std::string out;
  while (out.size() < length)
    out += unit;
  return out;
}

lua_value from_typed(const json& t) {
  const std::string type = t["type"].get<std::string>();
  if (type == "boolean") return {t["value"].get<bool>()};
  if (type == "integer") return {std::stoll(t["value"].get<std::string>())};
  if (type == "float") return {std::stoull(t["bits"].get<std::string>(), nullptr, 16)};
  if (type == "string") return {typed_string(t)};
  if (type != "table") return {};
  lua_table table;
  std::int64_t i = 0;
  if (t.contains("array")) {
    for (const json& item : t["array"])
      table[++i] = from_typed(item);
  }
  if (t.contains("array_count")) {
    for (std::size_t n = 0; n < t["array_count"].get<std::size_t>(); ++n)
      table[++i] = from_typed(t["array_fill"]);
  }
  if (t.contains("hash")) {
    for (const json& pair : t["hash"]) {
      const lua_value key = from_typed(pair[0]);
      std::visit(
          [&](const auto& k) {
            using K = std::decay_t<decltype(k)>;
            if constexpr (!std::is_same_v<K, std::monostate> && !std::is_same_v<K, lua_table>) {
              table[k] = from_typed(pair[1]);
            }
          },
          key.v);
    }
  }
  return {std::move(table)};
}

lua_value from_native(const value& v);

lua_key key_of(const value& v) {
  if (const auto* i = v.as<std::int64_t>()) return *i;
  if (const auto* s = v.as<std::string>()) return *s;
  if (const auto* b = v.as<bool>()) return *b;
  if (const auto* d = v.as<double>()) return std::bit_cast<std::uint64_t>(*d);
  ADD_FAILURE() << "a map key that is not a scalar";
  return false;
}

// The decoded struct as Lua sees it: map fields keyed by their key field.
lua_value lua_shape(const type& t, const object& o) {
  lua_table table;
  for (const auto& [name, v] : o) {
    const field* f = t.find(std::string_view(name));
    const auto* items = v.as<array>();
    if (f != nullptr && f->what == kind::structure && (f->key >= 0 || f->map) && items != nullptr) {
      lua_table map;
      for (const value& item : *items) {
        const object& element = *item.as<object>();
        if (f->map) {
          const field& second = f->st->fields[1];
          const value& v2 = element.at(second.name);
          map[key_of(element.at(f->st->fields[0].name))] =
              second.what == kind::structure && !second.array
                  ? lua_shape(*second.st, *v2.as<object>())
                  : from_native(v2);
        } else {
          map[key_of(element.at(f->st->find(f->key)->name))] = lua_shape(*f->st, element);
        }
      }
      table[name] = {std::move(map)};
    } else if (f != nullptr && f->what == kind::structure && items != nullptr) {
      lua_table list;
      std::int64_t i = 0;
      for (const value& item : *items)
        list[++i] = lua_shape(*f->st, *item.as<object>());
      table[name] = {std::move(list)};
    } else if (f != nullptr && f->what == kind::structure && !f->array) {
      table[name] = lua_shape(*f->st, *v.as<object>());
    } else {
      table[name] = from_native(v);
    }
  }
  return {std::move(table)};
}

lua_value from_native(const value& v) {
  if (const auto* b = v.as<bool>()) return {*b};
  if (const auto* i = v.as<std::int64_t>()) return {*i};
  if (const auto* d = v.as<double>()) return {std::bit_cast<std::uint64_t>(*d)};
  if (const auto* s = v.as<std::string>()) return {*s};
  if (const auto* a = v.as<array>()) {
    lua_table list;
    std::int64_t i = 0;
    for (const value& item : *a)
      list[++i] = from_native(item);
    return {std::move(list)};
  }
  return {};
}

const schema& schema_named(const std::string& name) {
  static std::map<std::string, std::unique_ptr<schema>> loaded;
  auto& s = loaded[name];
  if (s == nullptr) {
    for (const json& entry : vectors()["schemas"]) {
      if (entry["name"] == name) s = schema::load(from_hex(entry["bin_hex"].get<std::string>()));
    }
  }
  if (s == nullptr) throw std::runtime_error("no loadable schema " + name);
  return *s;
}

TEST(sproto_vectors, present) {
  ASSERT_TRUE(vectors().is_object()) << "tests/vectors/libraries.json missing or unreadable";
  EXPECT_EQ(vectors()["encode"].size(), 130U);
}

TEST(sproto_vectors, schema_bundles_load_as_in_skynet) {
  for (const json& s : vectors()["schemas"]) {
    const auto loaded = schema::load(from_hex(s["bin_hex"].get<std::string>()));
    EXPECT_EQ(loaded != nullptr, s["loadable"].get<bool>()) << s["name"];
  }
  for (const json& c : vectors()["schema_cases"]) {
    if (c["ok"].get<bool>()) {
      EXPECT_NE(schema::load(from_hex(c["bin_hex"].get<std::string>())), nullptr) << c["name"];
    }
  }
  const schema& main = schema_named("main");
  const type* all = main.find_type("All");
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(all->find(1000)->name, "farther");
  EXPECT_EQ(main.find_type("All.Inner")->fields.size(), 2U);
  const protocol* confirm = main.find_protocol("confirm");
  ASSERT_NE(confirm, nullptr);
  EXPECT_TRUE(confirm->confirm);
  EXPECT_EQ(main.find_protocol(300)->name, "big");
  EXPECT_NE(main.dump().find("farther (1000) string"), std::string::npos);
}

TEST(sproto_vectors, every_message_decodes_and_reencodes) {
  for (const json& c : vectors()["encode"]) {
    if (!c["ok"].get<bool>()) continue;
    SCOPED_TRACE(c["name"].get<std::string>());
    const type* t = schema_named(c["schema"]).find_type(c["type"].get<std::string>());
    ASSERT_NE(t, nullptr);
    const std::string wire = from_hex(c["hex"].get<std::string>());
    if (c.contains("decode_error")) {
      try {
        decode(*t, wire);
        ADD_FAILURE() << "decoded";
      } catch (const error& e) {
        EXPECT_EQ(e.what(), tail(c["decode_error"].get<std::string>()));
      }
      continue;
    }
    const decoded d = decode(*t, wire);
    EXPECT_EQ(d.size, c["decoded_size"].get<std::size_t>());
    if (c.contains("decoded")) {
      EXPECT_TRUE(lua_shape(*t, d.value) == from_typed(c["decoded"]));
    }
    // Arrays keep the wire order of map entries: re-encoding is always identical.
    EXPECT_EQ(to_hex(encode(*t, d.value)), c["hex"].get<std::string>());
    EXPECT_EQ(to_hex(pack(wire)), c["packed_hex"].get<std::string>());
  }
}

TEST(sproto_vectors, crafted_inputs) {
  for (const json& c : vectors()["decode"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const type* t = schema_named(c["schema"]).find_type(c["type"].get<std::string>());
    const std::string wire = from_hex(c["hex"].get<std::string>());
    if (c["ok"].get<bool>()) {
      const decoded d = decode(*t, wire);
      EXPECT_EQ(d.size, c["decoded_size"].get<std::size_t>());
      EXPECT_TRUE(lua_shape(*t, d.value) == from_typed(c["decoded"]));
    } else {
      try {
        decode(*t, wire);
        ADD_FAILURE() << "decoded";
      } catch (const error& e) {
        EXPECT_EQ(e.what(), tail(c["error"].get<std::string>()));
      }
    }
  }
}

TEST(sproto_vectors, zero_packing) {
  for (const json& c : vectors()["pack"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const std::string input = typed_string(c["input"]);
    const std::string packed = pack(input);
    EXPECT_EQ(to_hex(packed), c["packed_hex"].get<std::string>());
    std::string out;
    ASSERT_TRUE(unpack(packed, out));
    EXPECT_EQ(to_hex(out), c["unpacked_hex"].get<std::string>());
  }
  for (const json& c : vectors()["unpack"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    std::string out;
    const bool ok = unpack(from_hex(c["hex"].get<std::string>()), out);
    EXPECT_EQ(ok, c["ok"].get<bool>());
    if (ok) {
      EXPECT_EQ(to_hex(out), c["result_hex"].get<std::string>());
    }
  }
}

TEST(sproto_vectors, rpc_packages_split_into_header_and_body) {
  const schema& main = schema_named("main");
  const type& package = *main.find_type("package");
  for (const json& step : vectors()["rpc"]["steps"]) {
    if (!step.contains("package_hex")) continue;
    SCOPED_TRACE(step["step"].get<int>());
    std::string plain;
    ASSERT_TRUE(unpack(from_hex(step["package_hex"].get<std::string>()), plain));
    EXPECT_EQ(to_hex(plain), step["unpacked_hex"].get<std::string>());
    EXPECT_EQ(to_hex(pack(plain)), step["package_hex"].get<std::string>());
    const decoded header = decode(package, plain);
    EXPECT_LE(header.size, plain.size());
    if (step["kind"] == "client_request") {
      const protocol* p = main.find_protocol(step["name"].get<std::string>());
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(*header.value.at("type").as<std::int64_t>(), p->tag);
      if (p->request != nullptr) decode(*p->request, std::string_view(plain).substr(header.size));
    }
  }
}

// ---- the native API's own edges --------------------------------------------------

TEST(sproto_native, builds_a_message_from_cpp_values) {
  const schema& main = schema_named("main");
  const type& person = *main.find_type("Person");
  const object alice{{"name", "Alice"}, {"age", 13}, {"marital", false}};
  EXPECT_EQ(to_hex(encode(person, alice)), "030000001c00020005000000416c696365");
  const object all{{"dec", 1.5},
                   {"ia", array{1, std::int64_t{1} << 40}},
                   {"kv", array{object{{"key", "k"}, {"value", 7}}}},
                   {"items", array{object{{"id", 3}}}},
                   {"unknown", "ignored"}};
  const type& all_type = *main.find_type("All");
  const decoded back = decode(all_type, encode(all_type, all));
  EXPECT_EQ(*back.value.at("dec").as<double>(), 1.5);
  EXPECT_EQ(back.value.at("ia"), value(array{1, std::int64_t{1} << 40}));
  EXPECT_EQ(back.value.at("kv"), value(array{object{{"key", "k"}, {"value", 7}}}));
  EXPECT_FALSE(back.value.contains("unknown"));
}

TEST(sproto_native, decimals_beyond_int64_saturate) {
  // The largest wire value decodes to a double that scales back to 2^63: it must encode again.
  const type& all = *schema_named("main").find_type("All");
  const auto dec_of = [&](double d) {
    return decode(all, encode(all, object{{"dec", d}})).value.at("dec");
  };
  EXPECT_EQ(dec_of(1e300), dec_of(9.3e15));
  EXPECT_EQ(dec_of(-1e300), dec_of(-9.3e15));
  EXPECT_EQ(*dec_of(1e300).as<double>(), static_cast<double>(INT64_MAX) / 1000);
  EXPECT_EQ(*dec_of(-1e300).as<double>(), static_cast<double>(INT64_MIN) / 1000);
}

TEST(sproto_native, wrong_values_raise_skynets_texts) {
  const schema& main = schema_named("main");
  const type& all = *main.find_type("All");
  auto text_of = [&](const object& o) {
    try {
      encode(all, o);
    } catch (const error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(text_of({{"i", 1.5}}), "All.i[0] is not an integer (Is a number)");
  EXPECT_EQ(text_of({{"i", "12"}}), "All.i[0] is not an integer (Is a string)");
  EXPECT_EQ(text_of({{"b", 1}}), "All.b[0] is not a boolean (Is a number)");
  EXPECT_EQ(text_of({{"s", 12}}), "All.s[0] is not a string (Is a number)");
  EXPECT_EQ(text_of({{"ba", array{true, 1}}}), "All.ba[2] is not a boolean (Is a number)");
  EXPECT_EQ(text_of({{"ia", 5}}),
            "All.ia(1) should be a table or an userdata with metamethods (Is a number)");
  EXPECT_EQ(text_of({{"person", 5}}), "All.person[0] is not a table (Is a number)");
  EXPECT_EQ(text_of({{"dec", std::nan("")}}), "All.dec[0] is not a number (Is a number)");
  const type& person = *main.find_type("Person");
  object deep{{"name", "leaf"}};
  for (int i = 0; i < max_depth; ++i)
    deep = object{{"children", array{std::move(deep)}}};
  EXPECT_THROW(encode(person, deep), error);
  EXPECT_EQ(text_of({{"s", std::string(max_encoded_size + 1, 'x')}}),
            "object is too large (>16777216)");
}

TEST(sproto_native, slots_keep_replaced_schemas) {
  slots::save(3, schema::load(from_hex(vectors()["schemas"][0]["bin_hex"].get<std::string>())));
  const schema* first = slots::load(3);
  ASSERT_NE(first, nullptr);
  slots::save(3, nullptr);
  EXPECT_EQ(slots::load(3), nullptr);
  EXPECT_NE(first->find_type("Person"), nullptr);  // still alive
  EXPECT_EQ(slots::load(-1), nullptr);
  EXPECT_EQ(slots::load(slots::count), nullptr);
}

TEST(sproto_native, junk_bundles_are_refused) {
  for (const char* junk : {"", "00", "0000", "ffff", "0100000000", "010001000000"}) {
    EXPECT_EQ(schema::load(from_hex(junk)), nullptr) << junk;
  }
}

}  // namespace
}  // namespace starling::sproto
