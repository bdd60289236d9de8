// Feeds arbitrary bytes to the mongo driver's reply framing (seri/mongo_wire, the parser behind
// skynet.mongo.driver's reply) and decodes the document it accepts with the BSON reader.
// Nothing may crash; an accepted document lies inside the message, its length field equal to
// the size reported.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "seri/bson.hpp"
#include "seri/mongo_wire.hpp"

namespace mongo = starling::seri::mongo;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "mongo_reply_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const mongo::reply r = mongo::parse_reply(bytes);
  if (r.status != mongo::reply_status::ok) return 0;
  if (r.doc_offset > size || r.doc_size > size - r.doc_offset)
    fail("a document outside the message");
  std::int32_t announced = 0;
  std::memcpy(&announced, data + r.doc_offset, sizeof announced);  // little-endian hosts only
  if (static_cast<std::size_t>(announced) != r.doc_size) fail("a document of another length");
  try {
    (void)starling::bson::decode(bytes.substr(r.doc_offset, r.doc_size));
  } catch (const starling::bson::error&) {
    // a bad document inside good framing: the Lua side raises bson's error
  }
  return 0;
}
