#pragma once
// The process-wide schema slots of sprotoloader (docs/LIBRARIES.md, "sproto"): one service
// saves a schema, every service of the process (Lua or native) loads it by slot number.

#include <memory>

#include "seri/sproto_schema.hpp"

namespace starling::sproto::slots {

constexpr int count = 16;

/// Puts `s` in slot `index` (0..count-1; null clears the slot). A schema once saved stays alive
/// until the process ends, even when replaced: services may still hold it.
void save(int index, std::unique_ptr<schema> s);

/// The schema in slot `index`, or null.
const schema* load(int index);

}  // namespace starling::sproto::slots
