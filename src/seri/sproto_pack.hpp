#pragma once
// sproto's 0-packing (sproto.pack / sproto.unpack; docs/LIBRARIES.md, "sproto"): the input is
// read in zero-padded 8-byte words; a word becomes a bit mask of its non-zero bytes followed by
// those bytes, and runs of dense words are copied raw behind `ff <count-1>`.

#include <string>
#include <string_view>

namespace starling::sproto {

/// Packs `bytes` (always succeeds).
std::string pack(std::string_view bytes);
/// The same into `out` (replaced), reusing its storage.
void pack(std::string_view bytes, std::string& out);

/// Unpacks `bytes` into `out` (a multiple of 8 bytes: the padding stays). False for a malformed
/// stream ("Invalid unpack stream"): `out` then holds what was decoded before the fault.
bool unpack(std::string_view bytes, std::string& out);

}  // namespace starling::sproto
