// Feeds arbitrary bytes to sproto's 0-unpacking (seri/sproto_pack): it must unpack or refuse,
// and what it unpacks packs back to bytes that unpack to the same. Packing the input itself
// must unpack to the input padded to whole 8-byte words.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "seri/sproto_pack.hpp"

namespace sproto = starling::sproto;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "sproto_unpack_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string plain;
  if (sproto::unpack(input, plain)) {
    if (plain.size() % 8 != 0) fail("unpacked size is not whole words");
    std::string again;
    if (!sproto::unpack(sproto::pack(plain), again) || again != plain) fail("pack(unpack(x))");
  }
  std::string padded(input);
  padded.resize((size + 7) / 8 * 8, '\0');
  std::string back;
  if (!sproto::unpack(sproto::pack(input), back) || back != padded) fail("unpack(pack(x))");
  return 0;
}
