// Feeds arbitrary bytes to the skynet.pack decoder. Every input must either decode or raise
// seri::error; whatever decodes must survive encode -> decode unchanged, and encoding is
// then stable (the decoder's canonical form re-encodes to the same bytes).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>

#include "seri/reader.hpp"
#include "seri/writer.hpp"

namespace seri = starling::seri;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "seri_unpack_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input
}

// Walks the stream with peek_kind and the typed reads; they must agree with read().
void walk_typed(std::span<const std::byte> bytes, const seri::value_list& expected) {
  seri::reader r(bytes);
  for (const seri::value& want : expected) {
    switch (r.peek_kind()) {
      case seri::value::kind::nil:
        r.read_nil();
        if (!want.is_nil()) fail("nil");
        break;
      case seri::value::kind::boolean:
        if (!(seri::value(r.read_bool()) == want)) fail("boolean");
        break;
      case seri::value::kind::integer:
        if (!(seri::value(r.read_integer()) == want)) fail("integer");
        break;
      case seri::value::kind::real:
        if (!(seri::value(r.read_real()) == want)) fail("real");
        break;
      case seri::value::kind::string:
        if (!want.is_string() || r.read_string() != want.as_string()) fail("string");
        break;
      case seri::value::kind::light_userdata:
        if (!(seri::value(seri::light_userdata{r.read_light_userdata()}) == want)) fail("ud");
        break;
      case seri::value::kind::table:
        if (!(r.read() == want)) fail("table");
        break;
    }
  }
  if (!r.at_end()) fail("typed walk left bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  seri::value_list first;
  try {
    first = seri::unpack(bytes);
  } catch (const seri::error&) {
    return 0;  // a clean refusal
  }
  walk_typed(bytes, first);

  starling::payload encoded;
  try {
    encoded = seri::pack(first);
  } catch (const seri::error& e) {
    // The decoder accepts nesting that skynet.pack refuses to produce; nothing else may fail.
    if (std::strcmp(e.what(), "serialize can't pack too depth table") != 0) fail("pack");
    return 0;
  }
  const seri::value_list second = seri::unpack(encoded);  // must not throw
  if (!(second == first)) fail("decode(encode(decoded)) differs");
  const starling::payload again = seri::pack(second);
  if (again.view() != encoded.view()) fail("encoding is not stable");
  return 0;
}
