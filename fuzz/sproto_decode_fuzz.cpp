// Feeds arbitrary bytes to the sproto decoder (seri/sproto_codec) over the schema that the
// sproto vectors call "main" (every field kind, maps, decimals, nesting, far tags): the first
// byte picks the type. Every input must decode or raise sproto::error; whatever decodes must
// re-encode to bytes that decode again, to a value that re-encodes to the same bytes (bytes,
// not values, are compared: a NaN double never equals itself). The input is
// also offered as a schema bundle: a bundle that loads must dump and encode without fault.
// The Lua binding (sproto.core.decode, its own walk over the same wire primitives) must agree:
// the same refusals with the same texts, the same consumed sizes.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <lua.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "lua/sproto_module.hpp"
#include "seri/sproto_codec.hpp"
#include "seri/sproto_schema.hpp"

namespace sproto = starling::sproto;

namespace {

// sprotoparser's bundle of the vectors' "main" schema.
constexpr const char* main_bundle_hex =
    "02000000000039050000d701000002000000000003000000416c6cc60100000f0000000400000002000100020001"
    "000000690f0000000400000004000100040001000000620f00000004000000060001000600010000007311000000"
    "040000000600040008000300000062696e0f00000004000000080001000a00010000006411000000040000000200"
    "08000c00030000006465631200000005000000020001000e00040002000000696112000000050000000400010010"
    "00040002000000626112000000050000000600010012000400020000007361120000000500000008000100140004"
    "00020000006461140000000500000002000600160004000400000064656361140000000400000001000c00180006"
    "000000706572736f6e160000000500000001000c001a0004000600000070656f706c651400000005000000060004"
    "001c0004000400000062696e731300000004000000010004001e0005000000696e6e657217000000060000000100"
    "0800200004000200050000006974656d731800000006000000010008002200040004000600000062796e616d6516"
    "0000000700000001000a002400040002000400020000006b76110000000400000002000100520003000000666172"
    "150000000400000006000100d20707000000666172746865723d00000002000000000009000000416c6c2e496e6e"
    "6572260000000f0000000400000002000100020001000000780f0000000400000006000100040001000000790d00"
    "00000100000005000000456d70747954000000020000000000040000004974656d42000000100000000400000002"
    "00010002000200000069641200000004000000060001000400040000006e616d6514000000050000000600010006"
    "00040004000000746167733c000000020000000000020000004b562c000000110000000400000006000100020003"
    "0000006b657913000000040000000200010004000500000076616c75657400000002000000000006000000506572"
    "736f6e600000001200000004000000060001000200040000006e616d651100000004000000020001000400030000"
    "006167651500000004000000040001000600070000006d61726974616c180000000500000001000c000800040008"
    "0000006368696c6472656e4d00000002000000000006000000537061727365390000000f00000004000000020001"
    "000c0001000000610f0000000400000004000100100001000000620f00000004000000060001005a020100000063"
    "2d0000000200000000000c0000006269672e726573706f6e7365130000000f000000040000000200010002000100"
    "00006e310000000200000000000f000000636f6e6669726d2e726571756573741400000010000000040000000200"
    "010002000200000069642f0000000200000000000c0000006563686f2e7265717565737415000000110000000400"
    "0000060001000200030000006d7367300000000200000000000d0000006563686f2e726573706f6e736515000000"
    "1100000004000000060001000200030000006d7367480000000200000000000e0000006c6f67696e2e726573706f"
    "6e73652c0000001000000004000000040001000200020000006f6b14000000040000000600010004000600000072"
    "6561736f6e320000000200000000000e0000006e6f746966792e7265717565737416000000120000000400000006"
    "0001000200040000007465787458000000020000000000070000007061636b616765430000001200000004000000"
    "020001000200040000007479706515000000040000000200010004000700000073657373696f6e10000000040000"
    "00060001000600020000007564850000000e0000000200000004000400000070696e671200000004000000060014"
    "001600040000006563686f130000000400000008000c001800050000006c6f67696e12000000030000000a001a00"
    "060000006e6f7469667917000000050000000c0012000100040007000000636f6e6669726d11000000040000005a"
    "020100100003000000626967";

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "sproto_decode_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input
}

const sproto::schema& main_schema() {
  static const std::unique_ptr<sproto::schema> s = [] {
    const std::string_view hex = main_bundle_hex;
    std::string bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
      bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return sproto::schema::load(bytes);
  }();
  if (s == nullptr) fail("the main bundle does not load");
  return *s;
}

// A state with sproto.core as the global `core`, and the main schema's types by index.
lua_State* state() {
  static lua_State* L = [] {
    lua_State* s = luaL_newstate();
    luaL_openlibs(s);
    starling::lua::open_sproto_core(s);
    lua_setglobal(s, "core");
    return s;
  }();
  return L;
}

// core.decode(type, bytes) in `t`'s Lua twin: true with the size used, or false with the text.
bool lua_decode(const sproto::type& t, std::string_view bytes, std::size_t& used,
                std::string& text) {
  lua_State* L = state();
  lua_getglobal(L, "core");
  lua_getfield(L, -1, "decode");
  lua_pushlightuserdata(L, const_cast<sproto::type*>(&t));  // NOLINT(*-const-cast)
  lua_pushlstring(L, bytes.data(), bytes.size());
  const bool ok = lua_pcall(L, 2, 2, 0) == LUA_OK;
  if (ok) {
    used = static_cast<std::size_t>(lua_tointeger(L, -1));
  } else {
    text = lua_tostring(L, -1);
  }
  lua_settop(L, 0);
  return ok;
}

void try_bundle(std::string_view bytes) {
  const auto s = sproto::schema::load(bytes);
  if (s == nullptr) return;
  static_cast<void>(s->dump());
  for (const sproto::type& t : s->types()) {
    const std::string empty = sproto::encode(t, {});
    if (sproto::decode(t, empty).size != empty.size()) fail("empty struct size");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try_bundle(input);
  if (size == 0) return 0;
  const auto types = main_schema().types();
  const sproto::type& t = types[data[0] % types.size()];
  sproto::decoded first;
  std::size_t lua_used = 0;
  std::string lua_text;
  const bool lua_ok = lua_decode(t, input.substr(1), lua_used, lua_text);
  try {
    first = sproto::decode(t, input.substr(1));
  } catch (const sproto::error& e) {
    if (lua_ok || lua_text != e.what()) fail("the Lua decoder disagrees on a refusal");
    return 0;  // a clean refusal
  }
  if (!lua_ok || lua_used != first.size) fail("the Lua decoder disagrees");
  if (first.size > size - 1) fail("consumed more than given");
  std::string encoded;
  try {
    encoded = sproto::encode(t, first.value);
  } catch (const sproto::error&) {
    fail("a decoded value does not encode");
  }
  const sproto::decoded second = sproto::decode(t, encoded);
  if (second.size != encoded.size()) fail("re-encoded size");
  if (sproto::encode(t, second.value) != encoded) fail("encoding is not stable");
  return 0;
}
